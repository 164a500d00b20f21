"""Signed summaries awaiting a physician's acknowledgement, as set-based queries.

A summary version is 1 as signed and one more per amendment; it awaits acknowledgement until a
physician has acknowledged that version. Only patients with an active physician on their care
team are counted: a summary that no account can acknowledge (a referring physician reads it
by link alone) would otherwise wait for ever.
"""

from datetime import datetime

from sqlalchemy import Select, bindparam, exists, func, select

from spastic.extensions import db
from spastic.models import Acknowledgement, Amendment, User, Visit, care_team


def version_of_visit():
    """SQL: the visit's newest summary version (1 + its amendments), correlated to Visit."""
    amendments = (
        select(func.count(Amendment.id))
        .where(Amendment.visit_id == Visit.id)
        .correlate(Visit)
        .scalar_subquery()
    )
    return 1 + amendments


def made_at():
    """SQL: when the visit's newest summary version was made (signature or last amendment)."""
    last = (
        select(func.max(Amendment.created_at))
        .where(Amendment.visit_id == Visit.id)
        .correlate(Visit)
        .scalar_subquery()
    )
    return func.coalesce(last, Visit.signed_at)


def awaiting(patient_ids, before: datetime | None = None) -> Select:
    """Select (visit id, patient id) of signed summaries whose newest version no physician has
    acknowledged, for these patients (ids or a select of ids); `before`: made before then."""
    acknowledged = exists().where(
        Acknowledgement.visit_id == Visit.id, Acknowledgement.version == version_of_visit()
    )
    has_physician = exists().where(
        care_team.c.patient_id == Visit.patient_id,
        care_team.c.user_id == User.id,
        User.role == "physician",
        User.active.is_(True),
    )
    query = select(Visit.id, Visit.patient_id).where(
        Visit.status == "signed", Visit.patient_id.in_(patient_ids), ~acknowledged, has_physician
    )
    if before is not None:
        query = query.where(made_at() < before)
    return query


def awaiting_by_patient(patient_ids) -> dict[int, int]:
    """How many summaries await acknowledgement, per patient: one aggregate query (for a
    list of ids, the statement built once: a page of the worklist runs it every time)."""
    if isinstance(patient_ids, list | tuple | set):
        values = {"patient_ids": list(patient_ids)}
        return dict(db.session.execute(_BY_PATIENT_IDS, values).all())
    return dict(db.session.execute(_by_patient(patient_ids)).all())


def _by_patient(patient_ids) -> Select:
    inner = awaiting(patient_ids).subquery()
    return select(inner.c.patient_id, func.count()).group_by(inner.c.patient_id)


_BY_PATIENT_IDS = _by_patient(bindparam("patient_ids", expanding=True))
