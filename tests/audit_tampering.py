"""What only the database owner can do to the audit trail: drop its guard and rewrite rows."""

from sqlalchemy import delete, select, text

from spastic import audit
from spastic.extensions import db
from spastic.models import AuditEvent
from spastic.models.audit import APPEND_ONLY_POSTGRESQL, APPEND_ONLY_SQLITE


def drop_append_only_guard():
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(text("DROP TRIGGER audit_event_no_delete"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))
    db.session.commit()


def restore_guard():
    statements = (
        APPEND_ONLY_SQLITE if db.engine.dialect.name == "sqlite" else APPEND_ONLY_POSTGRESQL
    )
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()


def delete_rows(ids):
    """Delete audit rows as the owner would, guard dropped and put back."""
    drop_append_only_guard()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(list(ids))))
    db.session.commit()
    restore_guard()


def rechain(scheme: str, key: bytes = b""):
    """Recompute every row's links (chain by chain) and hashes with the public algorithm and a
    key of one's own."""
    drop_append_only_guard()
    previous = {}  # each chain's head so far
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all():
        event.prev_hash = previous.get(event.chain, audit.GENESIS)
        event.hash_scheme = scheme
        event.hash = audit.event_hash(event, key)
        previous[event.chain] = event.hash
    db.session.commit()
    restore_guard()
