"""The audit trail's chains: how a row is hashed, checkpoints of a chain's head, verification.

Each clinic has a chain of its own ("clinic-<id>"), and the rows of no clinic (a failed login
for an unknown address) one more ("system"): each row's hash is an HMAC over its content and
its predecessor's hash in the same chain, keyed with AUDIT_KEY, which lives outside the
database. Writers of different clinics never wait for each other; writers of one clinic are
ordered by that chain's lock. Rows written before the chains were split form the chain
"audit_event", which no longer grows. Signed checkpoints of each chain's head, kept outside
the database, catch what a chain alone cannot: rows removed from its end, or the whole chain
rewritten.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from flask import current_app
from sqlalchemy import bindparam, func, select, text

from spastic.extensions import db
from spastic.models import AuditEvent, utcnow

GENESIS = "0" * 64
KEYED = "hmac-sha256"
UNKEYED = "sha256"  # only the rows written before the chain was keyed (see the migration)
SYSTEM_CHAIN = "system"
_CHAIN_LOCK_KEY = 7_021_987  # PostgreSQL advisory lock class; the chain's number is the second key


def chain_for(clinic_id: int | None) -> str:
    """The chain a new row of this clinic (or of none) joins."""
    return f"clinic-{clinic_id}" if clinic_id else SYSTEM_CHAIN


def lock_chain(chain: str) -> None:
    """Order this chain's writers until the transaction ends (SQLite: writers are serial)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        number = int(chain.removeprefix("clinic-")) if chain.startswith("clinic-") else 0
        connection.execute(_LOCK, {"key": _CHAIN_LOCK_KEY, "chain": number})


_EVENTS = AuditEvent.__table__
# Built once, on the table (a Core statement): every audited request runs it.
_HEAD = (
    select(_EVENTS.c.hash)
    .where(_EVENTS.c.chain == bindparam("chain"))
    .order_by(_EVENTS.c.id.desc())
    .limit(1)
)
_LOCK = text("SELECT pg_advisory_xact_lock(:key, :chain)")


def chain_head(chain: str) -> str:
    """The hash of the chain's newest row (GENESIS for a chain not begun)."""
    return db.session.connection().scalar(_HEAD, {"chain": chain}) or GENESIS


def audit_key() -> bytes:
    """Return the key of the chains and their checkpoints (config AUDIT_KEY)."""
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
    """A chain's head at one moment: how many rows, the newest one and its hash."""

    chain: str
    count: int
    last_id: int | None
    head_hash: str
    at: str  # UTC, ISO 8601

    def signed_line(self, key: bytes) -> str:
        fields = asdict(self)
        signature = _mac(key, "checkpoint", _canonical(fields))
        return _canonical({**fields, "signature": signature})


def chains() -> list[str]:
    """Every chain the trail holds, in a stable order."""
    return sorted(db.session.scalars(select(AuditEvent.chain).distinct()))


def checkpoint(chain: str) -> Checkpoint:
    """Read a chain's head; its lock keeps a writer from landing between the reads."""
    lock_chain(chain)
    in_chain = AuditEvent.chain == chain
    head = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash)
        .where(in_chain)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    count = db.session.scalar(select(func.count(AuditEvent.id)).where(in_chain))
    return Checkpoint(
        chain=chain,
        count=count,
        last_id=head.id if head else None,
        head_hash=head.hash if head else GENESIS,
        at=utcnow().isoformat(),
    )


def checkpoints() -> list[Checkpoint]:
    """One checkpoint per chain."""
    return [checkpoint(chain) for chain in chains()]


def chain_events():
    """Return the trail's rows in the order they were written (all chains, interleaved)."""
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))


@dataclass
class _Walk:
    """Where the walk of one chain stands."""

    previous: str = GENESIS
    keyed_seen: bool = False
    count: int = 0
    pending: list = field(default_factory=list)  # [(line number, checkpoint)] by last_id


def verify(
    events: Iterable[AuditEvent], checkpoint_lines: Iterable[str] = (), key: bytes | None = None
) -> list[ChainProblem]:
    """Walk the trail in id order, each chain on its own; report rows changed, removed,
    re-ordered or re-hashed.

    Each checkpoint must be genuine and still hold: its newest row is there with the same hash
    and the same number of rows up to it in its chain.
    """
    key = key if key is not None else audit_key()
    problems, genuine = _read_checkpoints(checkpoint_lines, key)
    walks: dict[str, _Walk] = {}
    for line_no, point in genuine:
        walks.setdefault(point.chain, _Walk()).pending.append((line_no, point))
    for event in events:
        walk = walks.setdefault(event.chain, _Walk())
        walk.count += 1
        problems.extend(_row_problems(event, walk.previous, walk.keyed_seen, key))
        walk.keyed_seen = walk.keyed_seen or event.hash_scheme == KEYED
        while walk.pending and walk.pending[0][1].last_id <= event.id:
            line_no, point = walk.pending.pop(0)
            problems.extend(_checkpoint_problems(line_no, point, event, walk.count))
        walk.previous = event.hash
    for walk in walks.values():
        problems.extend(_missing_head(line_no, point) for line_no, point in walk.pending)
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
            if not (
                isinstance(point.count, int)
                and isinstance(point.last_id, int | None)
                and isinstance(point.chain, str)
            ):
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
                f"{point.count} rows up to audit event {event.id} in chain {point.chain} then, "
                f"{count} now: rows before it were deleted or inserted",
            )
        )
    return problems


def _missing_head(line_no: int, point: Checkpoint) -> ChainProblem:
    return ChainProblem(
        f"checkpoint line {line_no} ({point.at})",
        f"audit event {point.last_id}, the newest row of chain {point.chain} then, is missing: "
        "rows were deleted from the end of the trail",
    )


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _mac(key: bytes, purpose: str, message: str) -> str:
    # The purpose keeps a row's MAC from ever passing as a checkpoint's, and the reverse.
    return hmac.new(key, f"spastic audit {purpose}\n{message}".encode(), hashlib.sha256).hexdigest()
