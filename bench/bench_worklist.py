"""The worklist (GET /worklist) of a clinic of 10,000 patients, 500 of them with a pump.

Baseline in the same run: the alphabetical patient list as it was before the worklist
(GET /patients, no search), on the same database before the 10,000 patients are added, when
the clinic holds its 14 demo patients. Target (issue 15): the worklist within 3x of it.
Every added patient has a signed visit and a regimen; the pump patients an intrathecal dose,
a pump and a fill, at dates spread so that every worklist state occurs. The patients are
inserted in bulk (past the ORM's hooks), so their stored worklist entries are rebuilt as
`flask worklist-rebuild` does (not timed). Each result also counts the SQL statements of one
request.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import event, insert, select, text

from bench.bench_search import PATIENTS, _patient_rows
from bench.common import fresh_database, login, migrated_app, ratio, summary, timed

PUMPS = 500
TARGET = 3.0


def run(database: str, url: str, quick: bool = False) -> list[dict]:
    from spastic.demo.seed import seed
    from spastic.extensions import db

    repeat = 5 if quick else 15
    app = migrated_app(fresh_database(url, "worklist"))
    with app.app_context():
        seed()
        clinic_id = db.session.scalar(text("SELECT id FROM clinic WHERE name = 'Demo Rehab'"))
    client = app.test_client()
    login(client)
    baseline = _timings(client, "/patients", repeat)
    with app.app_context():
        _add_clinic(clinic_id)
    results = []
    for label, path in (("all", "/worklist"), ("pumps", "/worklist?show=pumps")):
        measured = _timings(client, path, repeat)
        with app.app_context():
            statements = _statements(client, path)
        found = ratio(measured["median_ms"], baseline["median_ms"])
        results.append(
            {
                "name": f"worklist, 10,000 patients, 500 pumps, {label} ({database})",
                "baseline": {"what": "GET /patients, the 14 demo patients", **baseline},
                "measured": measured,
                "ratio_median": found,
                "statements": statements,
                "target": f"<= {TARGET}x",
                "verdict": "meets" if found <= TARGET else "misses",
            }
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return results


def _add_clinic(clinic_id: int) -> None:
    from spastic.extensions import db
    from spastic.models import DoseChange, Patient, Pump, Refill, User, Visit

    rng = random.Random(15)
    today = date.today()
    db.session.execute(insert(Patient), _patient_rows(clinic_id))
    ids = db.session.scalars(
        select(Patient.id).where(Patient.mrn.like("BN-%")).order_by(Patient.id)
    ).all()
    therapist = db.session.scalar(select(User.id).where(User.email == "therapist@demo.test"))
    db.session.execute(
        insert(Visit),
        [
            {
                "patient_id": pid,
                "therapist_id": therapist,
                "visit_date": today - timedelta(days=rng.randrange(1, 200)),
                "rater": "Bench",
                "status": "signed",
                "submission_key": f"bench-visit-{pid}",
            }
            for pid in ids
        ],
    )
    pumped = set(ids[:: PATIENTS // PUMPS][:PUMPS])
    doses = [
        {
            "patient_id": pid,
            "effective_date": today
            - timedelta(days=420 if pid in pumped else rng.randrange(30, 400)),
            "route": "intrathecal" if pid in pumped else "oral",
            "daily_dose": Decimal(rng.choice((150, 300, 450))) if pid in pumped else Decimal(30),
            "unit": "mcg/day" if pid in pumped else "mg/day",
            "stopped": False,
        }
        for pid in ids
    ]
    db.session.execute(insert(DoseChange), doses)
    for pid in sorted(pumped):
        pump = Pump(
            patient_id=pid,
            model="SynchroMed II",
            reservoir_ml=Decimal(20),
            alarm_ml=Decimal(2),
            implant_date=today - timedelta(days=420),
        )
        pump.refills.append(
            Refill(
                refill_date=today - timedelta(days=rng.randrange(1, 120)),
                volume_added_ml=Decimal(20),
                concentration_mcg_ml=Decimal(2000),
                first_fill=True,
            )
        )
        db.session.add(pump)
    db.session.commit()
    from spastic.patients import worklist_entries

    worklist_entries.rebuild(clinic_id=clinic_id)  # the bulk inserts passed the hooks
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # statistics, as autovacuum would have by now
        db.session.execute(text("ANALYZE patient, visit, worklist_entry"))
        db.session.commit()


def _statements(client, path: str) -> int:
    """The SQL statements one request sends (the login session's and the audit's included)."""
    from spastic.extensions import db

    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def _timings(client, path: str, repeat: int) -> dict:
    response = client.get(path)  # warm up, and check it answers
    assert response.status_code == 200, response.status_code
    return summary([timed(lambda: client.get(path)) for _ in range(repeat)])
