"""A patient's visits and the visit in progress, as the patient page lists them."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from spastic.extensions import db
from spastic.models import Draft, Visit


def visits_of(patient_id: int) -> list[Visit]:
    """Return all of a patient's visits, newest first."""
    return db.session.scalars(
        select(Visit)
        .where(Visit.patient_id == patient_id)
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .options(selectinload(Visit.amendments))
    ).all()


def open_draft_of(patient_id: int) -> Draft | None:
    """Return the patient's new visit in progress, if any."""
    return db.session.scalar(
        select(Draft).where(
            Draft.patient_id == patient_id, Draft.visit_id.is_(None), Draft.consumed_at.is_(None)
        )
    )
