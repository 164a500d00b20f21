"""A patient's visits and the visit in progress, as the patient page lists them."""

from datetime import timedelta
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from spastic.extensions import db
from spastic.models import Amendment, Draft, Visit, utcnow

# A visit is recorded the day it happens; a draft nobody saved for longer was most likely left
# behind. It is then shown as a stale draft, dated, with Continue and Discard; it is never
# discarded or deleted on its own (a clinic's wording choice, not a clinical threshold).
STALE_DRAFT_DAYS = 2


def is_stale(draft: Draft) -> bool:
    """A visit in progress nobody has saved for `STALE_DRAFT_DAYS` days."""
    return utcnow() - draft.updated_at > timedelta(days=STALE_DRAFT_DAYS)


def visits_of(patient_id: int) -> list[Visit]:
    """Return a patient's visits (signed or not; discarded ones are no visits), newest first.

    In one query, with only the ids of their amendments: the list says "amended", no more.
    """
    return db.session.scalars(_visits(), {"patient_id": patient_id}).unique().all()


def open_draft_of(patient_id: int, *, with_author: bool = False) -> Draft | None:
    """Return the patient's new visit in progress, if any (with who saved it last, to show)."""
    return db.session.scalar(_open_draft(with_author), {"patient_id": patient_id})


# Every patient page and visit form runs these; built once, with the patient as a parameter,
# they skip SQLAlchemy's statement construction and go straight to its compiled cache.
@cache
def _visits() -> Select:
    return (
        select(Visit)
        .where(Visit.patient_id == bindparam("patient_id"), Visit.discarded_at.is_(None))
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .options(joinedload(Visit.amendments).load_only(Amendment.id))
    )


@cache
def _open_draft(with_author: bool) -> Select:
    query = select(Draft).where(
        Draft.patient_id == bindparam("patient_id"),
        Draft.visit_id.is_(None),
        Draft.consumed_at.is_(None),
        Draft.discarded_at.is_(None),
    )
    if with_author:
        query = query.options(joinedload(Draft.updated_by))
    return query
