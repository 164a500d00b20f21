"""Writing patients and their regimen: each change audited with old and new values."""

import secrets
from dataclasses import asdict

from sqlalchemy import select

from spastic import audit
from spastic.extensions import db
from spastic.models import DoseChange, Patient, User
from spastic.patients.forms import DoseEntry, PatientDetails

_PATIENT_FIELDS = [f for f in PatientDetails.__dataclass_fields__ if f != "care_team_ids"]


class DuplicateMRN(ValueError):
    """Another patient of the clinic already has this MRN."""


def physicians_of(clinic_id: int) -> list[User]:
    """Return the clinic's active physicians, for care-team choices."""
    return db.session.scalars(
        select(User)
        .where(User.clinic_id == clinic_id, User.role == "physician", User.active)
        .order_by(User.name)
    ).all()


def snapshot(patient: Patient) -> dict:
    """Return the patient's editable values, as the form would hand them over."""
    values = {name: getattr(patient, name) for name in _PATIENT_FIELDS}
    values["care_team_ids"] = tuple(sorted(u.id for u in patient.care_team))
    return values


def create_patient(clinic_id: int, details: PatientDetails) -> Patient:
    """Add a patient to a clinic (the caller commits)."""
    _refuse_duplicate_mrn(clinic_id, details.mrn, None)
    patient = Patient(clinic_id=clinic_id)
    _apply(patient, details)
    db.session.add(patient)
    db.session.flush()
    audit.record(
        "create",
        entity="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        changes=audit.changed_fields({}, asdict(details)),
    )
    return patient


def update_patient(patient: Patient, details: PatientDetails) -> dict:
    """Apply edits (the caller commits); return the changed fields."""
    _refuse_duplicate_mrn(patient.clinic_id, details.mrn, patient.id)
    changes = audit.changed_fields(snapshot(patient), asdict(details))
    if changes:
        _apply(patient, details)
        audit.record(
            "update", entity="patient", entity_id=patient.id, patient_id=patient.id, changes=changes
        )
    return changes


def add_dose_change(patient: Patient, entry: DoseEntry, user: User, submission_key: str):
    """Record a regimen change once per submission key; return (change, created)."""
    # The same form sent twice at once: the second waits for the row lock, then finds the first.
    db.session.refresh(patient, with_for_update=True)
    existing = db.session.scalar(
        select(DoseChange).where(DoseChange.submission_key == submission_key)
    )
    if existing is not None and existing.patient_id == patient.id:
        return existing, False
    if existing is not None:  # another patient's key: this change gets its own
        submission_key = secrets.token_urlsafe(24)
    change = DoseChange(
        patient=patient, entered_by_id=user.id, submission_key=submission_key, **asdict(entry)
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        "create",
        entity="dose_change",
        entity_id=change.id,
        patient_id=patient.id,
        changes=audit.changed_fields({}, asdict(entry)),
    )
    return change, True


def _apply(patient: Patient, details: PatientDetails) -> None:
    for name in _PATIENT_FIELDS:
        setattr(patient, name, getattr(details, name))
    team = details.care_team_ids
    allowed = {u.id: u for u in physicians_of(patient.clinic_id)} if team else {}
    patient.care_team = [allowed[i] for i in team if i in allowed]


def _refuse_duplicate_mrn(clinic_id: int, mrn: str, patient_id: int | None) -> None:
    clash = db.session.scalar(
        select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.mrn == mrn)
    )
    if clash is not None and clash != patient_id:
        raise DuplicateMRN(mrn)
