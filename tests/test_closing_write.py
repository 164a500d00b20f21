"""The closing write of a read request (database.py): what it writes, in which transaction.

On PostgreSQL it continues the read's own transaction; on SQLite it begins IMMEDIATE after the
read. Either way a read request's own changes are never written, its audit row always is, and
a row another writer appended meanwhile is the one the closing write chains onto.
"""

from contextlib import suppress

import pytest
from flask import g
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from spastic import audit
from spastic.access import patient_for
from spastic.extensions import db
from spastic.models import AuditEvent, Patient, User

SNAPSHOT_PER_TRANSACTION = {"SQLALCHEMY_ENGINE_OPTIONS": {"isolation_level": "REPEATABLE READ"}}


@pytest.fixture
def app_config(request, database):
    config = getattr(request, "param", {})
    if config and database.startswith("sqlite"):
        pytest.skip("SQLite has no REPEATABLE READ; its closing write always begins anew")
    return config


def _add_view(app, rule, view):
    app.add_url_rule(rule, view.__name__, view)


def _transactions(app):
    """Record each transaction's begin and end on the engine while a request runs."""
    seen = []
    with app.app_context():
        engine = db.engine
    listeners = {
        "begin": lambda _conn: seen.append("begin"),
        "commit": lambda _conn: seen.append("commit"),
        "rollback": lambda _conn: seen.append("rollback"),
    }
    for name, listener in listeners.items():
        event.listen(engine, name, listener)

    def stop():
        for name, listener in listeners.items():
            event.remove(engine, name, listener)

    return seen, stop


def _trail_problems(app) -> list:
    with app.app_context():
        return audit.verify(audit.chain_events())


def test_a_read_requests_own_change_is_not_written_but_its_audit_row_is(
    app, auth, client, clinic_world
):
    patient_id = clinic_world["patient"].id
    family_name = clinic_world["patient"].family_name

    def careless_read(patient_id):
        patient = patient_for(current_user, patient_id)
        patient.family_name = "Overwritten by a read"  # a read request writes nothing of its own
        audit.record("view", entity="patient", entity_id=patient.id, patient_id=patient.id)
        return patient.family_name

    _add_view(app, "/test-careless-read/<int:patient_id>", careless_read)
    auth.login(clinic_world["therapist"])
    before = _last_audit_id(app)
    response = client.get(f"/test-careless-read/{patient_id}")
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Patient, patient_id).family_name == family_name
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert [(r.action, r.entity, r.patient_id) for r in rows] == [("view", "patient", patient_id)]
    assert _trail_problems(app) == []


@pytest.mark.parametrize("app_config", [{}, SNAPSHOT_PER_TRANSACTION], indirect=True)
def test_the_closing_write_chains_onto_a_row_written_while_the_page_was_read(
    app, auth, client, clinic_world
):
    """Another writer of the same clinic's chain commits after the page read (its snapshot
    taken): the closing write must still find that row as the chain's head, also when the
    database keeps one snapshot for a whole transaction (then it cannot continue the read's)."""
    patient_id = clinic_world["patient"].id
    therapist = clinic_world["therapist"]

    def page_with_a_writer_meanwhile(patient_id):
        patient = patient_for(current_user, patient_id)
        user_id = current_user.id
        with app.app_context():  # another session, its own connection and transaction
            assert not g.get("_read_request")
            audit.record("update", entity="patient", patient_id=patient_id, user=_user(user_id))
            db.session.commit()
        audit.record("view", entity="patient", entity_id=patient.id, patient_id=patient.id)
        return patient.mrn

    _add_view(app, "/test-writer-meanwhile/<int:patient_id>", page_with_a_writer_meanwhile)
    auth.login(therapist)
    assert client.get(f"/test-writer-meanwhile/{patient_id}").status_code == 200
    with app.app_context():
        last_two = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == f"clinic-{therapist.clinic_id}")
            .order_by(AuditEvent.id.desc())
            .limit(2)
        ).all()
    view, update = last_two
    assert (update.action, view.action) == ("update", "view")
    assert view.prev_hash == update.hash
    assert _trail_problems(app) == []


def _user(user_id):
    return db.session.get(User, user_id)


def test_a_page_reads_and_writes_in_as_few_transactions_as_its_database_allows(
    app, auth, client, clinic_world
):
    auth.login(clinic_world["therapist"])
    client.get(f"/patients/{clinic_world['patient'].id}")  # "last seen" is now fresh
    seen, stop = _transactions(app)
    try:
        page = client.get(f"/patients/{clinic_world['patient'].id}")
    finally:
        stop()
    assert clinic_world["patient"].mrn in page.get_data(as_text=True)
    if app.config["DATABASE_URL"].startswith("sqlite"):
        # The read (deferred), ended; then the closing write, BEGIN IMMEDIATE (see database.py).
        assert seen == ["begin", "rollback", "begin", "commit"]
    else:
        # READ COMMITTED: the closing write continues the read's transaction.
        assert seen == ["begin", "commit"]


def test_a_read_that_handled_a_failed_statement_is_still_audited(app, auth, client, clinic_world):
    """On PostgreSQL a failed statement aborts its transaction: the closing write then
    begins anew rather than continue it (and fail)."""
    patient_id = clinic_world["patient"].id

    def read_with_a_failed_statement(patient_id):
        patient = patient_for(current_user, patient_id)
        with suppress(OperationalError, ProgrammingError):  # handled: the page still shows
            db.session.execute(text("SELECT no_such_column FROM patient"))
        audit.record("view", entity="patient", entity_id=patient.id, patient_id=patient.id)
        return patient.mrn

    _add_view(app, "/test-failed-statement/<int:patient_id>", read_with_a_failed_statement)
    auth.login(clinic_world["therapist"])
    before = _last_audit_id(app)
    assert client.get(f"/test-failed-statement/{patient_id}").status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert [(r.action, r.patient_id) for r in rows] == [("view", patient_id)]
    assert _trail_problems(app) == []


def _last_audit_id(app) -> int | None:
    """The newest audit row's id, read in its own app context before a request."""
    with app.app_context():
        return db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
