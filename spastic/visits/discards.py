"""Discarding a draft or an unsigned visit: kept with who, when and why, never listed again.

Nothing is deleted: the row stays (and the audit trail holds the reason), but no page, list,
trend, export or PDF shows it as a visit. A signed visit is never discarded: it is amended.
A draft left open is never discarded by the app on its own either: the patient page shows it as
a stale draft after `patients.history.STALE_DRAFT_DAYS`, with Continue and Discard side by side.
"""

from sqlalchemy import select

from spastic import audit
from spastic.extensions import db
from spastic.models import Draft, User, Visit, utcnow
from spastic.models.visits import DISCARD_REASON_MAX


class NotDiscardable(Exception):
    """A signed visit (amend it instead), or a draft already saved as a visit."""


def reason_problem(
    reason: str,
    limit: int = DISCARD_REASON_MAX,
    missing: str = "Say why this is discarded (e.g. wrong patient, entered twice).",
) -> str | None:
    """Say what is wrong with a reason (a discard's by default), or None if it will do."""
    if not reason:
        return missing
    if len(reason) > limit:
        return f"The reason can hold at most {limit} characters; this has {len(reason)}."
    return None


def discard_draft(draft: Draft, user: User, reason: str) -> bool:
    """Discard a visit in progress; False if it already was (a double tap changes nothing)."""
    db.session.refresh(draft, with_for_update=True)
    if draft.discarded_at is not None:
        return False
    if draft.consumed_at is not None:
        raise NotDiscardable("saved as a visit")
    _mark(draft, user, reason)
    audit.record(
        "discard",
        entity="draft",
        entity_id=draft.id,
        patient_id=draft.patient_id,
        changes={"discard_reason": (None, reason)},
    )
    return True


def discard_visit(visit: Visit, user: User, reason: str) -> bool:
    """Discard an unsigned visit and any edit of it in progress; False if already discarded."""
    db.session.refresh(visit, with_for_update=True)  # a sign being committed finishes first
    if visit.discarded_at is not None:
        return False
    if visit.status == "signed":
        raise NotDiscardable("signed")
    _mark(visit, user, reason)
    editing = db.session.scalars(
        select(Draft).where(
            Draft.visit_id == visit.id,
            Draft.consumed_at.is_(None),
            Draft.discarded_at.is_(None),
        )
    )
    for draft in editing:
        _mark(draft, user, reason)
    audit.record(
        "discard",
        entity="visit",
        entity_id=visit.id,
        patient_id=visit.patient_id,
        changes={"discard_reason": (None, reason)},
    )
    return True


def _mark(row, user: User, reason: str) -> None:
    row.discarded_at = utcnow()
    row.discarded_by_id = user.id
    row.discard_reason = reason
    db.session.flush()
