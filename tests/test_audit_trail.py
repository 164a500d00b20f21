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


CANARY_EMAIL = "canary-7f3a@referrer.example"
CANARY_NOTE = "Canary detail 7f3a: fell off a ladder"


def _edit_with_canaries(client, patient_id):
    data = {
        "mrn": "MRN-1",
        "family_name": "Nguyen",
        "given_name": "Linh",
        "birth_date": "1985-03-14",
        "sex": "female",
        "diagnosis": "sci",
        "sci_level": "C6",
        "ais_grade": "A",
        "diagnosis_detail": CANARY_NOTE,
        "referring_name": "Dr Ref",
        "referring_email": CANARY_EMAIL,
        "version": 1,
    }
    assert client.post(f"/patients/{patient_id}/edit", data=data).status_code == 302


def test_admin_audit_view_shows_no_clinical_value(app, runner, auth, client, clinic_world):
    auth.login(clinic_world["therapist"])
    _edit_with_canaries(client, clinic_world["patient"].id)
    auth.logout()
    auth.login(clinic_world["admin"])
    page = client.get("/admin/audit?mrn=MRN-1").get_data(as_text=True)
    assert "t@home.test" in page and "<td>referring_email</td>" in page  # who and which field
    assert "<td>diagnosis_detail</td>" in page
    assert CANARY_EMAIL not in page and "7f3a" not in page
    with app.app_context():
        kept = db.session.scalars(
            select(AuditEvent.new_value).where(AuditEvent.action == "update")
        ).all()
    assert CANARY_EMAIL in kept and CANARY_NOTE in kept

    shown = runner.invoke(args=["audit-show", "--mrn", "MRN-1"])
    assert shown.exit_code == 0, shown.output
    assert CANARY_EMAIL in shown.output and CANARY_NOTE in shown.output
    with app.app_context():
        read = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view_audit_values")
        ).one()
        assert read.patient_id == clinic_world["patient"].id
        assert read.user_email.startswith("shell:")


def test_admin_audit_lookups_are_audited_even_when_they_find_no_one(
    app, auth, client, clinic_world
):
    auth.login(clinic_world["admin"])
    client.get("/admin/audit?mrn=MRN-1")
    client.get("/admin/audit?mrn=OC-1")  # another clinic's MRN: not found, still recorded
    with app.app_context():
        lookups = db.session.execute(
            select(AuditEvent.patient_id, AuditEvent.field, AuditEvent.new_value)
            .where(AuditEvent.action == "view_audit", AuditEvent.user_email == "a@home.test")
            .order_by(AuditEvent.id)
        ).all()
    assert lookups == [(clinic_world["patient"].id, "mrn", "MRN-1"), (None, "mrn", "OC-1")]
