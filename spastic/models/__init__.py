"""Tables of the app; import models from here."""

from spastic.models.accounts import ROLES, Clinic, LoginSession, User
from spastic.models.audit import AuditEvent
from spastic.models.base import Base, utcnow
from spastic.models.patients import DoseChange, Patient, PatientSearchToken, care_team
from spastic.models.pumps import Pump, Refill
from spastic.models.sharing import Acknowledgement, ShareLink
from spastic.models.visits import (
    Amendment,
    Draft,
    MasScore,
    SideEffect,
    SummaryDocument,
    TardieuScore,
    Visit,
)
from spastic.models.worklist import WorklistEntry

__all__ = [
    "ROLES",
    "Acknowledgement",
    "Amendment",
    "AuditEvent",
    "Base",
    "Clinic",
    "DoseChange",
    "Draft",
    "LoginSession",
    "MasScore",
    "Patient",
    "PatientSearchToken",
    "Pump",
    "Refill",
    "ShareLink",
    "SideEffect",
    "SummaryDocument",
    "TardieuScore",
    "User",
    "Visit",
    "WorklistEntry",
    "care_team",
    "utcnow",
]
