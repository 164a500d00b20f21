"""Tables of the app; import models from here."""

from spastic.models.accounts import ROLES, Clinic, LoginSession, User
from spastic.models.audit import AuditEvent
from spastic.models.base import Base, utcnow
from spastic.models.patients import DoseChange, Patient, care_team

__all__ = [
    "ROLES",
    "AuditEvent",
    "Base",
    "Clinic",
    "DoseChange",
    "LoginSession",
    "Patient",
    "User",
    "care_team",
    "utcnow",
]
