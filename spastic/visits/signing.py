"""Signing and amending a visit: the signature freezes the content by its hash; corrections
are linked amendments. Both are audited."""

import json
import secrets

from sqlalchemy import select

from spastic import audit
from spastic.extensions import db
from spastic.models import Amendment, User, Visit, utcnow
from spastic.visits.content import content_of, effective_content
from spastic.visits.forms import VisitInput
from spastic.visits.records import apply_input, content_hash

SIGNATURE_MEANINGS = (
    "I performed and recorded this assessment",
    "I reviewed and approve this record",
)


def sign(visit: Visit, user: User, meaning: str) -> None:
    """Sign: record who, when and what the signature means; freeze the content by its hash.

    The caller holds the visit's row lock and has checked that it is not signed.
    """
    visit.status = "signed"
    visit.signed_by_id = user.id
    visit.signed_at = utcnow()
    visit.signature_meaning = meaning
    visit.content_hash = content_hash(content_of(visit))
    audit.record(
        "sign",
        entity="visit",
        entity_id=visit.id,
        patient_id=visit.patient_id,
        changes={
            "status": ("draft", "signed"),
            "signature_meaning": (None, meaning),
            "content_hash": (None, visit.content_hash),
        },
    )


def amend(
    visit: Visit,
    user: User,
    visit_input: VisitInput,
    reason: str,
    key: str,
    carried_from: dict | None = None,
) -> Amendment | None:
    """Record corrections to a signed visit as a linked amendment; None if nothing changed."""
    # The same form sent twice at once: the second waits for the row lock, then finds the first.
    db.session.refresh(visit, with_for_update=True)
    existing = db.session.scalar(select(Amendment).where(Amendment.submission_key == key))
    if existing is not None and existing.visit_id == visit.id:
        return existing
    if existing is not None:  # a key of another visit's amendment: this one gets its own
        key = secrets.token_urlsafe(24)
    before = effective_content(visit)
    after = _input_content(visit_input, carried_from)
    changes = {k: v for k, v in audit.changed_fields(before, after).items() if _amendable(k, after)}
    # A carried grade examined in the amendment loses its "carried" key: record that too.
    changes |= {
        k: (v, None)
        for k, v in before.items()
        if k.startswith("carried:") and k not in after and _amendable(k, after)
    }
    if not changes:
        return None
    amendment = Amendment(
        visit=visit,
        author_id=user.id,
        reason=reason,
        submission_key=key,
        changes=json.dumps({k: list(v) for k, v in changes.items()}, default=str),
        content_hash=content_hash(after),
    )
    db.session.add(amendment)
    db.session.flush()
    audit.record(
        "amend",
        entity="visit",
        entity_id=visit.id,
        patient_id=visit.patient_id,
        changes={**changes, "reason": (None, reason)},
    )
    return amendment


def _amendable(key: str, after: dict) -> bool:
    """A key the amendment form holds; a grade's provenance goes with its grade."""
    if key.startswith("carried:"):
        return "mas:" + key.partition(":")[2] in after
    return key in after


def _input_content(data: VisitInput, carried_from: dict | None = None) -> dict:
    """The content of a visit as it would be with these inputs (for amendments)."""
    probe = Visit()
    apply_input(probe, data, carried_from)
    content = content_of(probe)
    return content
