"""The one access check for patient data, and the role guard for views."""

from functools import wraps
from types import SimpleNamespace

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, select

from spastic.extensions import db
from spastic.models import Draft, Patient, User, Visit, care_team

CLINICAL_ROLES = ("therapist", "physician")


def visible_patients(user: User) -> Select:
    """Select the patients a user may see: own clinic, and for physicians their care team."""
    return select(Patient).where(visible(user, Patient.id, Patient.clinic_id))


def visible(user: User, patient_id, clinic_id) -> ColumnElement[bool]:
    """The rule of `visible_patients` on the columns of any table that holds a patient's id
    and clinic (a stored worklist entry: its page sorts thousands without reading a patient
    row, and reads the 50 it shows through `visible_patients` again)."""
    conditions = [clinic_id == user.clinic_id]
    if user.role == "physician":
        on_team = care_team.c.patient_id == patient_id, care_team.c.user_id == user.id
        conditions.append(exists().where(*on_team))
    elif user.role not in CLINICAL_ROLES:
        conditions.append(false())
    return and_(*conditions)


def patient_for(user: User, patient_id: int, *, write: bool = False, load=()) -> Patient:
    """Return the patient if the user may see it; 404 when not (never say it exists).

    `write=True` additionally needs the therapist role (403 for a physician on the care team).
    `load` names loader options for what the caller shows (loaded in the same query).
    """
    values = {"clinic_id": user.clinic_id, "user_id": user.id, "patient_id": patient_id}
    patient = db.session.scalars(_patient_query(user.role, tuple(load)), values)
    patient = patient.unique().one_or_none()
    if patient is None:
        abort(404)
    if write and user.role != "therapist":
        abort(403)
    return patient


_patient_queries: dict[tuple, Select] = {}
_KEPT_QUERIES = 32  # one per role and set of loader options (module constants of the callers)


def _patient_query(role: str, load: tuple) -> Select:
    """`patient_for`'s statement for one role and set of loader options, built once with the
    viewer's and the patient's ids as parameters: nearly every request runs one."""
    key = (role, load)
    query = _patient_queries.get(key)
    if query is None:
        viewer = SimpleNamespace(
            role=role, id=bindparam("user_id"), clinic_id=bindparam("clinic_id")
        )
        query = visible_patients(viewer).where(Patient.id == bindparam("patient_id"))
        query = query.options(*load)
        if len(_patient_queries) < _KEPT_QUERIES:
            _patient_queries[key] = query
    return query


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
