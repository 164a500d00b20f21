"""The one way to write the audit trail, and the check that it was not altered."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select, text

from spastic.extensions import db
from spastic.models import AuditEvent, utcnow

GENESIS = "0" * 64
_CHAIN_LOCK_KEY = 7_021_987  # PostgreSQL advisory lock that orders audit writers


def record(
    action: str,
    *,
    entity: str = "",
    entity_id: int | None = None,
    patient_id: int | None = None,
    changes: Mapping[str, tuple[object, object]] | None = None,
    user=None,
    clinic_id: int | None = None,
) -> None:
    """Append audit rows (one per changed field) to the current transaction.

    The caller commits, so the audit rows land with the change they describe or not at all.
    """
    actor = user if user is not None else _current_actor()
    _lock_chain()
    previous = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    previous = previous or GENESIS
    at = utcnow()
    for field, (old, new) in (changes or {None: (None, None)}).items():
        event = AuditEvent(
            at=at,
            user_id=getattr(actor, "id", None),
            user_email=getattr(actor, "email", "") or "",
            clinic_id=clinic_id if clinic_id is not None else getattr(actor, "clinic_id", None),
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_id=patient_id,
            field=field,
            old_value=_as_text(old),
            new_value=_as_text(new),
            remote_addr=(request.remote_addr or "") if has_request_context() else "",
            prev_hash=previous,
        )
        event.hash = event_hash(event)
        previous = event.hash
        db.session.add(event)
    db.session.flush()


def changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> dict:
    """Return {field: (old, new)} for the fields whose value differs."""
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def event_hash(event: AuditEvent) -> str:
    """Hash an event's content together with its predecessor's hash."""
    content = {
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "user_email": event.user_email,
        "clinic_id": event.clinic_id,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "patient_id": event.patient_id,
        "field": event.field,
        "old": event.old_value,
        "new": event.new_value,
        "remote_addr": event.remote_addr,
    }
    payload = event.prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    problem: str


def verify(events: Iterable[AuditEvent]) -> list[ChainProblem]:
    """Walk the trail in id order; report rows changed, removed or re-ordered."""
    problems = []
    previous = GENESIS
    for event in events:
        if event.prev_hash != previous:
            problems.append(ChainProblem(event.id, "the row before it was changed or deleted"))
        if event_hash(event) != event.hash:
            problems.append(ChainProblem(event.id, "its content no longer matches its hash"))
        previous = event.hash
    return problems


def _lock_chain() -> None:
    # SQLite transactions begin IMMEDIATE (see database.py), so writers are already serial.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})


def _current_actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (list, tuple, set)):
        return json.dumps(sorted(str(v) for v in value))
    return str(value)
