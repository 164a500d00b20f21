"""The one access check for patient data, and the role guard for views."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, exists, select

from spastic.extensions import db
from spastic.models import Draft, Patient, User, Visit, care_team

CLINICAL_ROLES = ("therapist", "physician")


def visible_patients(user: User) -> Select:
    """Select the patients a user may see: own clinic, and for physicians their care team."""
    query = select(Patient).where(Patient.clinic_id == user.clinic_id)
    if user.role == "physician":
        query = query.where(_on_care_team(user))
    elif user.role not in CLINICAL_ROLES:
        query = query.where(False)
    return query


def patient_for(user: User, patient_id: int, *, write: bool = False, load=()) -> Patient:
    """Return the patient if the user may see it; 404 when not (never say it exists).

    `write=True` additionally needs the therapist role (403 for a physician on the care team).
    `load` names loader options for what the caller shows (loaded in the same query).
    """
    query = visible_patients(user).where(Patient.id == patient_id).options(*load)
    patient = db.session.scalars(query).unique().one_or_none()
    if patient is None:
        abort(404)
    if write and user.role != "therapist":
        abort(403)
    return patient


def role_required(*roles: str):
    """Let only logged-in users with one of these roles through (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _on_care_team(user: User):
    return exists().where(care_team.c.patient_id == Patient.id, care_team.c.user_id == user.id)


def visit_for(user: User, visit_id: int, *, write: bool = False, discarded: bool = False):
    """Return the visit if the user may see its patient (404 otherwise); see `patient_for`.

    A discarded visit is no visit: 404, unless the caller asks for it (`discarded=True`).
    """
    visit = db.session.get(Visit, visit_id)
    if visit is None or (visit.discarded_at is not None and not discarded):
        abort(404)
    patient_for(user, visit.patient_id, write=write)
    return visit


def draft_for(user: User, draft_id: int, *, load=()):
    """Return a visit draft if the user may edit its patient (404 otherwise); `load` as in
    `patient_for`."""
    draft = db.session.get(Draft, draft_id, options=load)
    if draft is None:
        abort(404)
    patient_for(user, draft.patient_id, write=True)
    return draft
