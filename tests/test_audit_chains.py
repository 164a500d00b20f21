"""Each clinic's audit chain is its own, and a read request writes its audit rows at its end.

Issue "Speed and scale": an audited page no longer holds SQLite's write lock (or, on
PostgreSQL, a lock shared by every clinic) while it queries and renders; what it showed is
still audited before the response leaves, or the response is an error.
"""

import pytest
from sqlalchemy import event, func, select, text

from spastic import audit, audit_chain
from spastic.extensions import db
from spastic.models import AuditEvent
from tests.audit_tampering import delete_rows


def _chain_rows(app, chain):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.id)
        ).all()


def test_each_clinic_writes_its_own_chain(app, auth, client, clinic_world, runner):
    home, other = clinic_world["home"], clinic_world["other"]
    auth.login(clinic_world["therapist"])
    client.get(f"/patients/{clinic_world['patient'].id}")
    auth.logout()
    auth.login(clinic_world["other_therapist"])
    client.get(f"/patients/{clinic_world['other_patient'].id}")
    home_rows = _chain_rows(app, f"clinic-{home.id}")
    other_rows = _chain_rows(app, f"clinic-{other.id}")
    assert {r.clinic_id for r in home_rows} == {home.id}
    assert {r.clinic_id for r in other_rows} == {other.id}
    assert ("view", clinic_world["patient"].id) in {(r.action, r.patient_id) for r in home_rows}
    # Each chain starts from the genesis and links only its own rows.
    for rows in (home_rows, other_rows):
        assert rows[0].prev_hash == audit.GENESIS
        assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    result = runner.invoke(args=["audit-checkpoint"])
    chains = {line.split('"chain":"')[1].split('"')[0] for line in result.output.splitlines()}
    assert {f"clinic-{home.id}", f"clinic-{other.id}"} <= chains


def test_a_row_removed_from_one_clinic_breaks_only_that_chain(
    app, auth, client, clinic_world, runner
):
    home, other = clinic_world["home"], clinic_world["other"]
    auth.login(clinic_world["therapist"])
    for _ in range(3):
        client.get(f"/patients/{clinic_world['patient'].id}")
    auth.logout()
    auth.login(clinic_world["other_therapist"])
    client.get(f"/patients/{clinic_world['other_patient'].id}")
    home_rows = _chain_rows(app, f"clinic-{home.id}")
    with app.app_context():
        delete_rows([home_rows[1].id])
        problems = audit.verify(audit.chain_events())
    assert [p.subject for p in problems] == [f"audit event {home_rows[2].id}"]
    assert not any(r.id == home_rows[2].id for r in _chain_rows(app, f"clinic-{other.id}"))


def test_a_read_request_writes_only_the_trail_and_the_session_at_its_end(
    app, auth, client, clinic_world
):
    auth.login(clinic_world["therapist"])
    statements = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        page = client.get(f"/patients/{clinic_world['patient'].id}")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert clinic_world["patient"].mrn in page.get_data(as_text=True)
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes and all("AUDIT_EVENT" in s or "LOGIN_SESSION" in s for s in writes)
    first_write = statements.index(writes[0])
    # Everything the page read came before its one closing write, which reads nothing else.
    tail = statements[first_write:]
    assert all(
        "AUDIT_EVENT" in s or "LOGIN_SESSION" in s or s in ("COMMIT", "ROLLBACK") for s in tail
    ), tail
    if app.config["DATABASE_URL"].startswith("sqlite"):
        begins = [s for s in statements if s.startswith("BEGIN")]
        assert begins[0] == "BEGIN"  # the read: deferred, no write lock
        assert begins[-1] == "BEGIN IMMEDIATE" and begins.count("BEGIN IMMEDIATE") == 1
        assert statements.index("BEGIN IMMEDIATE") < first_write


def test_a_read_whose_audit_row_cannot_be_written_is_not_shown(app, auth, client, clinic_world):
    auth.login(clinic_world["therapist"])
    refuse = {
        "sqlite": (
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit disk full'); END",
        ),
        "postgresql": (
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ),
    }
    with app.app_context():
        for statement in refuse[db.engine.dialect.name]:
            db.session.execute(text(statement))
        db.session.commit()
        before = db.session.scalar(select(func.count(AuditEvent.id)))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        page = client.get(f"/patients/{clinic_world['patient'].id}")
    finally:
        with app.app_context():  # the PostgreSQL schema outlives the test
            db.session.execute(text("DROP TRIGGER refuse_audit" + _on_table(db)))
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("DROP FUNCTION refuse_audit()"))
            db.session.commit()
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert clinic_world["patient"].mrn not in body
    assert clinic_world["patient"].family_name not in body
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_postgresql_orders_each_clinics_writers_apart(app):
    """A writer holding clinic 1's chain lock does not stop clinic 2's, but does stop clinic 1's."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time, whatever the chain")
        audit.lock_chain("clinic-1")
        other = db.engine.connect()
        try:
            key = audit_chain._CHAIN_LOCK_KEY
            free = "SELECT pg_try_advisory_xact_lock(:key, :chain)"
            assert other.execute(text(free), {"key": key, "chain": 2}).scalar() is True
            assert other.execute(text(free), {"key": key, "chain": 1}).scalar() is False
            other.rollback()
        finally:
            other.close()
            db.session.rollback()


def _on_table(db) -> str:
    return " ON audit_event" if db.engine.dialect.name == "postgresql" else ""
