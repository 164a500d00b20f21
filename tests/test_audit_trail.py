"""The audit trail is append-only in the database and hash-chained: tampering is detected."""

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from spastic import audit
from spastic.extensions import db
from spastic.models import AuditEvent
from tests.audit_tampering import drop_append_only_guard, restore_guard


def _some_events(app, auth, client, clinic_world):
    auth.login(clinic_world["therapist"])
    client.get(f"/patients/{clinic_world['patient'].id}")
    auth.logout()
    with app.app_context():
        return db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_audit_rows(app, auth, client, clinic_world, change):
    ids = _some_events(app, auth, client, clinic_world)
    with app.app_context():
        statement = (
            update(AuditEvent).where(AuditEvent.id == ids[0]).values(action="forged")
            if change == "update"
            else delete(AuditEvent).where(AuditEvent.id == ids[0])
        )
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(statement)
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEvent, ids[0]).action == "login"


def test_chain_verifies_and_detects_a_changed_row(app, runner, auth, client, clinic_world):
    ids = _some_events(app, auth, client, clinic_world)
    assert len(ids) >= 3
    assert "Audit trail intact" in runner.invoke(args=["audit-verify"]).output
    with app.app_context():
        assert audit.verify(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))) == []
        drop_append_only_guard()
        db.session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(action="x"))
        db.session.commit()
        restore_guard()
    changed = runner.invoke(args=["audit-verify"])
    assert changed.exit_code == 1
    assert f"audit event {ids[1]}: its content no longer matches its hash" in changed.output


def test_deleted_row_breaks_the_chain(app, runner, auth, client, clinic_world):
    ids = _some_events(app, auth, client, clinic_world)
    with app.app_context():
        drop_append_only_guard()
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
        db.session.commit()
        restore_guard()
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert f"audit event {ids[2]}: the row before it was changed or deleted" in result.output
