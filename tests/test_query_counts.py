"""The patient page and the visit form read in at most five queries, whatever the history.

Counted with SQLAlchemy's `before_cursor_execute`: every statement sent to the database,
except BEGIN/COMMIT/ROLLBACK and the closing write of a read request (its audit row and the
login session's "last seen", written at the end in one short transaction: see database.py),
which are counted apart. The pages must still show what they are for.
"""

from datetime import date

import pytest
from flask import g, has_request_context
from sqlalchemy import event, func, select

from spastic.extensions import db
from spastic.filters import date_long
from spastic.models import DoseChange, Patient, Pump, Visit
from spastic.patients.regimen import regimen_of

MAX_READS = 5
TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture
def seeded(seeded_demo):
    return seeded_demo


@pytest.fixture
def statements(seeded):
    """Record each statement as (closing write?, SQL) while a test runs."""
    seen: list[tuple[bool, str]] = []

    def record(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(TRANSACTION):
            closing = has_request_context() and bool(g.get("_writing"))
            seen.append((closing, statement))

    with seeded.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _demo_patient(app) -> dict:
    """A demo patient with visits, a pump and several dose changes, and what its page shows."""
    with app.app_context():
        counted = (
            select(Patient)
            .join(Pump, Pump.patient_id == Patient.id)
            .where(Patient.mrn.like("DR-%"))
            .order_by(Patient.id)
        )
        for patient in db.session.scalars(counted):
            visits = db.session.scalars(
                select(Visit)
                .where(Visit.patient_id == patient.id)
                .order_by(Visit.visit_date.desc())
            ).all()
            doses = db.session.scalar(
                select(func.count()).where(DoseChange.patient_id == patient.id)
            )
            if len(visits) >= 3 and doses >= 2:
                return {
                    "id": patient.id,
                    "mrn": patient.mrn,
                    "dose": regimen_of(patient, date.today()).label,
                    "visit_date": date_long(visits[0].visit_date),
                }
    raise AssertionError("the demo has no patient with visits, a pump and dose changes")


def _get(client, statements: list, url: str) -> tuple[str, list[str], list[str]]:
    statements.clear()
    response = client.get(url)
    assert response.status_code == 200, url
    reads = [sql for closing, sql in statements if not closing]
    writes = [sql for closing, sql in statements if closing]
    return response.get_data(as_text=True), reads, writes


def _logged_in(client):
    response = client.post(
        "/login", data={"email": "therapist@demo.test", "password": "spastic-demo"}
    )
    assert response.status_code == 302


def test_patient_page_reads_in_five_queries(seeded, client, statements):
    patient = _demo_patient(seeded)
    _logged_in(client)
    client.get(f"/patients/{patient['id']}")  # a first request may touch the session row
    page, reads, writes = _get(client, statements, f"/patients/{patient['id']}")
    assert len(reads) <= MAX_READS, "\n\n".join(reads)
    assert patient["mrn"] in page
    assert patient["dose"] in page
    assert patient["visit_date"] in page
    assert "Refill due" in page  # the pump card, with its arithmetic
    assert any("INSERT INTO audit_event" in sql for sql in writes)


def test_visit_form_reads_in_five_queries(seeded, client, statements):
    patient = _demo_patient(seeded)
    _logged_in(client)
    draft_url = client.post(f"/patients/{patient['id']}/visits/new").location
    client.get(draft_url)
    page, reads, writes = _get(client, statements, draft_url)
    assert len(reads) <= MAX_READS, "\n\n".join(reads)
    assert patient["mrn"] in page
    assert patient["dose"] in page
    assert 'name="mas-' in page and "checked" in page  # the last visit's grades, carried
    assert any("INSERT INTO audit_event" in sql for sql in writes)
