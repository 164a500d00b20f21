"""The worklist (GET /worklist) of a clinic of 10,000 patients, 500 of them with a pump.

Baseline in the same run: the alphabetical patient list as it was before the worklist
(GET /patients, no search) of the clinic's 14 demo patients, on a second database holding
the demo alone, measured interleaved with the worklist (one baseline request before each
measured one, so drift in the machine's load touches both alike). Target (issue 15): the
worklist within 3x of it.
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

    repeat = 8 if quick else 40
    alone = migrated_app(fresh_database(url, "worklist_baseline"))
    app = migrated_app(fresh_database(url, "worklist"))
    for each in (alone, app):
        with each.app_context():
            seed()
    with app.app_context():
        clinic_id = db.session.scalar(text("SELECT id FROM clinic WHERE name = 'Demo Rehab'"))
        _add_clinic(clinic_id)
    baseline_client, client = alone.test_client(), app.test_client()
    login(baseline_client)
    login(client)
    results = []
    for label, path in (("all", "/worklist"), ("pumps", "/worklist?show=pumps")):
        baseline, measured = _interleaved(baseline_client, "/patients", client, path, repeat)
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
    for each in (alone, app):
        with each.app_context():
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


def _interleaved(baseline_client, baseline_path: str, client, path: str, repeat: int):
    """(baseline, measured) timings, one baseline request before each measured one."""
    for each, url in ((baseline_client, baseline_path), (client, path)):
        response = each.get(url)  # warm up, and check it answers
        assert response.status_code == 200, response.status_code
    baseline, measured = [], []
    for _ in range(repeat):
        baseline.append(timed(lambda: baseline_client.get(baseline_path)))
        measured.append(timed(lambda: client.get(path)))
    return summary(baseline), summary(measured)
