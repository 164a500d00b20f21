"""The audit trail is hash-chained: a changed or deleted row is detected."""

from sqlalchemy import delete, select, update

from spastic import audit
from spastic.extensions import db
from spastic.models import AuditEvent


def _events(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_chain_verifies_and_detects_tampering(app, runner, auth, client, clinic_world):
    auth.login(clinic_world["therapist"])
    client.get(f"/patients/{clinic_world['patient'].id}")
    auth.logout()
    assert len(_events(app)) >= 3
    assert "Audit trail intact" in runner.invoke(args=["audit-verify"]).output
    with app.app_context():
        assert audit.verify(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))) == []
        second = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()[1]
        db.session.execute(
            update(AuditEvent).where(AuditEvent.id == second).values(action="forged")
        )
        db.session.commit()
    changed = runner.invoke(args=["audit-verify"])
    assert changed.exit_code == 1
    assert f"audit event {second}: its content no longer matches its hash" in changed.output


def test_deleted_row_breaks_the_chain(app, runner, auth, client, clinic_world):
    auth.login(clinic_world["therapist"])
    client.get(f"/patients/{clinic_world['patient'].id}")
    auth.logout()
    with app.app_context():
        ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
        db.session.commit()
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert f"audit event {ids[2]}: the row before it was changed or deleted" in result.output
