"""A patient's visits and the visit in progress, as the patient page lists them."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from spastic.extensions import db
from spastic.models import Draft, Visit, utcnow

# A visit is recorded the day it happens; a draft nobody saved for longer was most likely left
# behind. It is then shown as a stale draft, dated, with Continue and Discard; it is never
# discarded or deleted on its own (a clinic's wording choice, not a clinical threshold).
STALE_DRAFT_DAYS = 2


def is_stale(draft: Draft) -> bool:
    """A visit in progress nobody has saved for `STALE_DRAFT_DAYS` days."""
    return utcnow() - draft.updated_at > timedelta(days=STALE_DRAFT_DAYS)


def visits_of(patient_id: int) -> list[Visit]:
    """Return a patient's visits (signed or not; discarded ones are no visits), newest first."""
    return db.session.scalars(
        select(Visit)
        .where(Visit.patient_id == patient_id, Visit.discarded_at.is_(None))
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .options(selectinload(Visit.amendments))
    ).all()


def open_draft_of(patient_id: int) -> Draft | None:
    """Return the patient's new visit in progress, if any."""
    return db.session.scalar(
        select(Draft).where(
            Draft.patient_id == patient_id,
            Draft.visit_id.is_(None),
            Draft.consumed_at.is_(None),
            Draft.discarded_at.is_(None),
        )
    )
