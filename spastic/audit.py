"""The one way to write the audit trail, and the checks that it was not altered.

Each row's hash is an HMAC over its content and its predecessor's hash, keyed with AUDIT_KEY,
which lives outside the database: whoever holds only the database cannot recompute the chain.
Signed checkpoints of the chain's head, kept outside the database, catch what a chain alone
cannot: rows removed from its end, or the whole chain rewritten.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import select, text

from spastic.extensions import db
from spastic.models import AuditEvent, utcnow

GENESIS = "0" * 64
KEYED = "hmac-sha256"
UNKEYED = "sha256"  # only the rows written before the chain was keyed (see the migration)
# The one chain today. A checkpoint names the chain it anchors; chains of their own (per
# clinic) would name theirs here and narrow the three queries of this module that read a chain.
CHAIN = "audit_event"
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
    fields = (changes or {None: (None, None)}).items()
    rows = [(entity_id, patient_id, field, old, new) for field, (old, new) in fields]
    _append(action, entity, rows, user, clinic_id)


def record_shown(
    action: str,
    *,
    entity: str,
    patient_ids: Iterable[int],
    changes: Mapping[str, tuple[object, object]] | None = None,
) -> None:
    """Name every patient a list showed: one row per patient (and changed field), like every
    other read, appended in one step of the chain."""
    fields = list((changes or {None: (None, None)}).items())
    rows = [(pid, pid, field, old, new) for pid in patient_ids for field, (old, new) in fields]
    _append(action, entity, rows, None, None)


def _append(action: str, entity: str, rows: list[tuple], user, clinic_id: int | None) -> None:
    actor = user if user is not None else _current_actor()
    key = audit_key()
    _lock_chain()
    head = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    previous = head or GENESIS
    at = utcnow()
    for entity_id, patient_id, field, old, new in rows:
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
            hash_scheme=KEYED,
        )
        event.hash = event_hash(event, key)
        previous = event.hash
        db.session.add(event)
    db.session.flush()


def changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> dict:
    """Return {field: (old, new)} for the fields whose value differs."""
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def audit_key() -> bytes:
    """Return the key of the chain and its checkpoints (config AUDIT_KEY)."""
    return str(current_app.config["AUDIT_KEY"]).encode()


def event_hash(event: AuditEvent, key: bytes) -> str:
    """Hash an event's content together with its predecessor's hash, as its scheme says."""
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
    if event.hash_scheme == UNKEYED:
        payload = event.prev_hash + _canonical(content)
        return hashlib.sha256(payload.encode()).hexdigest()
    message = _canonical({"event": content, "prev_hash": event.prev_hash})
    return _mac(key, "event", message)


@dataclass(frozen=True)
class ChainProblem:
    subject: str  # "audit event 12" or "checkpoint line 3"
    problem: str


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment: how many rows, the newest one and its hash."""

    chain: str
    count: int
    last_id: int | None
    head_hash: str
    at: str  # UTC, ISO 8601

    def signed_line(self, key: bytes) -> str:
        fields = asdict(self)
        signature = _mac(key, "checkpoint", _canonical(fields))
        return _canonical({**fields, "signature": signature})


def checkpoint() -> Checkpoint:
    """Read the chain's head; the chain lock keeps a writer from landing between the reads."""
    _lock_chain()
    head = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    count = db.session.scalar(select(db.func.count(AuditEvent.id)))
    return Checkpoint(
        chain=CHAIN,
        count=count,
        last_id=head.id if head else None,
        head_hash=head.hash if head else GENESIS,
        at=utcnow().isoformat(),
    )


def chain_events():
    """Return the chain's rows in the order they were written."""
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))


def verify(
    events: Iterable[AuditEvent], checkpoint_lines: Iterable[str] = (), key: bytes | None = None
) -> list[ChainProblem]:
    """Walk the trail in id order; report rows changed, removed, re-ordered or re-hashed.

    Each checkpoint must be genuine and still hold: its newest row is there with the same hash
    and the same number of rows up to it.
    """
    key = key if key is not None else audit_key()
    problems, pending = _read_checkpoints(checkpoint_lines, key)
    previous, keyed_seen = GENESIS, False
    for count, event in enumerate(events, start=1):
        problems.extend(_row_problems(event, previous, keyed_seen, key))
        keyed_seen = keyed_seen or event.hash_scheme == KEYED
        while pending and pending[0][1].last_id <= event.id:
            line_no, point = pending.pop(0)
            problems.extend(_checkpoint_problems(line_no, point, event, count))
        previous = event.hash
    for line_no, point in pending:
        problems.append(_missing_head(line_no, point))
    return problems


def _row_problems(event, previous: str, keyed_seen: bool, key: bytes) -> list[ChainProblem]:
    subject = f"audit event {event.id}"
    problems = []
    if event.prev_hash != previous:
        problems.append(ChainProblem(subject, "the row before it was changed or deleted"))
    if event.hash_scheme not in (KEYED, UNKEYED):
        problems.append(ChainProblem(subject, f"unknown hash scheme {event.hash_scheme!r}"))
    elif event.hash_scheme == UNKEYED and keyed_seen:
        problems.append(
            ChainProblem(subject, "it is unkeyed after keyed rows: rewritten without the key")
        )
    elif not hmac.compare_digest(event_hash(event, key), event.hash):
        problems.append(ChainProblem(subject, "its content no longer matches its hash"))
    return problems


def _read_checkpoints(lines: Iterable[str], key: bytes):
    """Return (problems, [(line number, checkpoint)] in chain order) for the genuine ones."""
    problems, genuine = [], []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        subject = f"checkpoint line {line_no}"
        try:
            fields = json.loads(line)
            signature = str(fields.pop("signature"))
            point = Checkpoint(**fields)
            if not (isinstance(point.count, int) and isinstance(point.last_id, int | None)):
                raise TypeError(point)
        except (ValueError, TypeError, KeyError, AttributeError):
            problems.append(ChainProblem(subject, "not a checkpoint (altered or truncated)"))
            continue
        expected = _mac(key, "checkpoint", _canonical(asdict(point)))
        if not hmac.compare_digest(expected, signature):
            problems.append(
                ChainProblem(
                    subject,
                    "its signature does not match: forged, altered or signed with another key",
                )
            )
        elif point.chain != CHAIN:
            problems.append(ChainProblem(subject, f"it anchors another chain ({point.chain})"))
        elif point.last_id is not None:
            genuine.append((line_no, point))
    return problems, sorted(genuine, key=lambda item: item[1].last_id)


def _checkpoint_problems(line_no: int, point: Checkpoint, event, count: int) -> list:
    if event.id != point.last_id:
        return [_missing_head(line_no, point)]
    subject = f"checkpoint line {line_no} ({point.at})"
    problems = []
    if event.hash != point.head_hash:
        problems.append(
            ChainProblem(
                subject,
                f"audit event {event.id} no longer has the hash it had then: "
                "the chain up to it was rewritten",
            )
        )
    if count != point.count:
        problems.append(
            ChainProblem(
                subject,
                f"{point.count} rows up to audit event {event.id} then, "
                f"{count} now: rows before it were deleted or inserted",
            )
        )
    return problems


def _missing_head(line_no: int, point: Checkpoint) -> ChainProblem:
    return ChainProblem(
        f"checkpoint line {line_no} ({point.at})",
        f"audit event {point.last_id}, the newest row then, is missing: rows were deleted "
        "from the end of the trail",
    )


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _mac(key: bytes, purpose: str, message: str) -> str:
    # The purpose keeps a row's MAC from ever passing as a checkpoint's, and the reverse.
    return hmac.new(key, f"spastic audit {purpose}\n{message}".encode(), hashlib.sha256).hexdigest()


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
