"""The patient page and the visit form read in at most five queries, whatever the history;
a visit save sends at most eleven statements (twelve on PostgreSQL, with the audit lock).

Counted with SQLAlchemy's `before_cursor_execute`: every statement sent to the database,
except BEGIN/COMMIT/ROLLBACK and the closing write of a read request (its audit row and the
login session's "last seen", written at the end in one short transaction: see database.py),
which are counted apart. The pages must still show what they are for.
"""

import re
from datetime import date

import pytest
from flask import g, has_request_context
from sqlalchemy import event, func, select

from spastic.clinical import scales
from spastic.extensions import db
from spastic.filters import date_long
from spastic.models import AuditEvent, DoseChange, Patient, Pump, Visit
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


# With the audit rows (PostgreSQL: and the audit chain's advisory lock), the draft kept and
# consumed; no lazy load, nothing read back.
MAX_SAVE_STATEMENTS = {"sqlite": 11, "postgresql": 12}


def test_a_visit_save_with_24_grades_sends_at_most_eleven_statements(seeded, client, statements):
    patient = _demo_patient(seeded)
    _logged_in(client)
    # The first save makes the 12 muscles the patient's usual set (a change, audited, that
    # refreshes the worklist entry); the second, measured, is a visit like most.
    first_url, first = _visit_post(client, patient["id"])
    assert client.post(first_url, data=first).status_code == 302
    draft_url, data = _visit_post(client, patient["id"])
    statements.clear()
    response = client.post(draft_url, data=data)
    assert response.status_code == 302 and "/review" in response.location, response.status_code
    sent = [sql for _closing, sql in statements]
    with seeded.app_context():
        most = MAX_SAVE_STATEMENTS[db.engine.dialect.name]
    assert len(sent) <= most, "\n\n".join(sent)
    assert not any(sql.lstrip().startswith("SELECT mas_score") for sql in sent)  # not read back
    with seeded.app_context():
        visit = db.session.scalars(select(Visit).order_by(Visit.id.desc())).first()
        grades = [s.grade for s in visit.mas_scores]
        audited = db.session.scalars(
            select(AuditEvent.field).where(
                AuditEvent.entity == "visit", AuditEvent.entity_id == visit.id
            )
        ).all()
    assert len([g for g in grades if g is not None]) == 24
    assert {f"mas:{m}:{s}" for m in scales.STANDARD_MUSCLES for s in scales.SIDES} <= set(audited)


def _visit_post(client, patient_id: int) -> tuple[str, dict]:
    """A new visit of the patient and the tablet's post of it: 12 muscles, 24 grades."""
    draft_url = client.post(f"/patients/{patient_id}/visits/new").location
    page = client.get(draft_url).get_data(as_text=True)
    data = {
        "version": re.search(r'name="version" value="(\d+)"', page).group(1),
        "visit_date": date.today().isoformat(),
        "rater": "Tess Mills",
        "muscles": list(scales.STANDARD_MUSCLES),
        "pain_now": "3",
    }
    for index, muscle in enumerate(scales.STANDARD_MUSCLES):
        for side in scales.SIDES:
            data[f"mas-{muscle}-{side}"] = scales.MAS_GRADES[index % 6]
            data[f"carry-{muscle}-{side}"] = "kept"
    return draft_url, data
