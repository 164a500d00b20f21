"""The one way to write the audit trail (its chains and their checks: `audit_chain.py`).

A change's rows join the transaction of the change. A read request's rows are queued and
appended at its end, in the same request, in one short write (see `database.py`): an audited
page no longer holds SQLite's write lock, or its clinic's chain lock, while it queries and
renders, and what it showed is still never unaudited.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from spastic.audit_chain import (  # noqa: F401 - the trail's checks, named where they were
    GENESIS,
    KEYED,
    UNKEYED,
    ChainProblem,
    audit_key,
    chain_events,
    chain_for,
    chain_head,
    checkpoint,
    checkpoints,
    event_hash,
    lock_chain,
    verify,
)
from spastic.database import defer_write
from spastic.extensions import db
from spastic.models import AuditEvent, utcnow


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
    # Everything the rows say is fixed now, when it happened; only their place in the chain
    # may wait for the end of a read request.
    clinic = clinic_id if clinic_id is not None else getattr(actor, "clinic_id", None)
    shared = {
        "at": utcnow(),
        "user_id": getattr(actor, "id", None),
        "user_email": getattr(actor, "email", "") or "",
        "clinic_id": clinic,
        "action": action,
        "entity": entity,
        "remote_addr": (request.remote_addr or "") if has_request_context() else "",
    }
    events = [
        dict(
            shared,
            entity_id=entity_id,
            patient_id=patient_id,
            field=field,
            old_value=_as_text(old),
            new_value=_as_text(new),
        )
        for entity_id, patient_id, field, old, new in rows
    ]

    def write():
        _write(chain_for(clinic), events)

    if not defer_write(write):
        write()


def _write(chain: str, events: list[dict]) -> None:
    key = audit_key()
    lock_chain(chain)
    # The change's own pending rows go first, under the chain's lock, as they did when the
    # head was read through the ORM (the head and the insert are Core statements now).
    db.session.flush()
    previous = chain_head(chain)
    rows = []
    for values in events:
        row = dict(values, chain=chain, prev_hash=previous, hash_scheme=KEYED)
        row["hash"] = previous = event_hash(SimpleNamespace(**row), key)
        rows.append(row)
    # One statement for all rows; ids follow the list, so the chain's order is the list's.
    db.session.connection().execute(_INSERT, rows)


_INSERT = insert(AuditEvent.__table__)


def changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> dict:
    """Return {field: (old, new)} for the fields whose value differs."""
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


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
