"""Patient search (the live search: GET /patients?q=...&partial=1) with 10,000 patients.

Baseline in the same run: the same search on the same database before the 10,000 patients
are added, when the clinic holds only the 12 demo patients. The patients are inserted in
bulk (one executemany), with names built from syllables so a fragment matches a realistic
share of them. Besides the request, the search's SQL alone is timed and its plan kept, and
so is the prefix search proposed in the report (a normalised, indexed name key), built on
this throw-away database only: the app is not changed.
"""

import random
from datetime import date, timedelta

from sqlalchemy import event, select, text

from bench.common import fresh_database, login, migrated_app, ratio, summary, timed

PATIENTS = 10_000
# Family names of 2-3 syllables (Kabemo, Torisu...), so a typed fragment matches a realistic
# share of the clinic.
SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")
GIVEN_NAMES = ("Ada", "Ben", "Carla", "Dmitri", "Elena", "Farah", "Jonas", "Lena", "Omar", "Zoe")
FRAGMENT = "ka"  # two letters typed: about 360 of the 10,000 names contain it


def run(database: str, url: str, quick: bool = False) -> list[dict]:
    from spastic.demo.seed import seed
    from spastic.extensions import db

    repeat = 5 if quick else 25
    searches = _searches()
    app = migrated_app(fresh_database(url, "search"))
    with app.app_context():
        seed()
        clinic_id = db.session.scalar(text("SELECT id FROM clinic WHERE name = 'Demo Rehab'"))
    client = app.test_client()
    login(client)
    baseline = {label: _timings(client, query, repeat) for label, query in searches}
    with app.app_context():
        _add_patients(clinic_id)
    measured = {label: _timings(client, query, repeat) for label, query in searches}
    with app.app_context():
        alone = {label: _search_alone(query, repeat) for label, query in searches}
        proposed = _proposed_prefix_search(clinic_id, searches, repeat)
        db.session.remove()
        db.engine.dispose()
    return [
        {
            "name": f"patient search, 10,000 patients, {label} ({database})",
            "baseline": {"what": "the same search, 12 demo patients", **baseline[label]},
            "measured": measured[label],
            "ratio_median": ratio(measured[label]["median_ms"], baseline[label]["median_ms"]),
            "query": query,
            "search_alone": alone[label]["timings"],
            "plan": alone[label]["plan"],
            "proposed_prefix_search": proposed[label],
        }
        for label, query in searches
    ]


def _family_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _patient_rows(clinic_id: int) -> list[dict]:
    rng = random.Random(10_000)
    born = date(1940, 1, 1)
    return [
        {
            "clinic_id": clinic_id,
            "mrn": f"BN-{n:06d}",
            "family_name": _family_name(rng),
            "given_name": rng.choice(GIVEN_NAMES),
            "birth_date": born + timedelta(days=rng.randrange(25_000)),
            "sex": rng.choice(("female", "male")),
            "diagnosis": rng.choice(("sci", "ms", "stroke", "cp", "tbi")),
        }
        for n in range(1, PATIENTS + 1)
    ]


def _searches() -> list[tuple[str, str]]:
    """(label, query): a fragment, one patient's family name as typed so far, one MRN."""
    one = _patient_rows(0)[4321]
    typed = one["family_name"][:5].lower()
    return [
        (f"name fragment '{FRAGMENT}'", FRAGMENT),
        (f"family name '{typed}'", typed),
        (f"MRN '{one['mrn']}'", one["mrn"]),
    ]


def _add_patients(clinic_id: int) -> None:
    from sqlalchemy import insert

    from spastic.extensions import db
    from spastic.models import Patient

    db.session.execute(insert(Patient), _patient_rows(clinic_id))
    db.session.commit()


def _timings(client, query: str, repeat: int) -> dict:
    path = f"/patients?q={query}&partial=1"
    response = client.get(path)  # warm up, and check it answers
    assert response.status_code == 200, response.status_code
    return summary([timed(lambda: client.get(path)) for _ in range(repeat)])


def _search_alone(query: str, repeat: int) -> dict:
    """The app's search function as the therapist calls it (SQL and ORM, no HTTP, no
    template, no audit row), and the database's plan for its statement."""
    from flask import current_app
    from flask_login import login_user

    from spastic.extensions import db
    from spastic.models import User
    from spastic.patients.views import _search

    seen = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    with current_app.test_request_context():
        login_user(db.session.scalar(select(User).where(User.email == "therapist@demo.test")))
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            found = len(_search(query))
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        timings = summary([timed(lambda: _search(query)) for _ in range(repeat)])
        statement, parameters = next(s for s in seen if "FROM patient" in s[0])
        db.session.rollback()
    return {"timings": {**timings, "rows": found}, "plan": _explain(statement, parameters)}


def _explain(statement: str, parameters) -> list[str]:
    from spastic.extensions import db

    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        if not sqlite:
            connection.exec_driver_sql("ANALYZE patient")  # as autovacuum would by now
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
        connection.rollback()
    return [str(row[-1]) for row in rows]


def _proposed_prefix_search(clinic_id: int, searches, repeat: int) -> dict:
    """The proposed fix, built on this throw-away database only: lower-cased keys of the
    family name, given name and MRN, each indexed with the clinic and searched as a range,
    a prefix match that SQLite and PostgreSQL both answer from a B-tree."""
    from spastic.extensions import db

    keys = {"family_key": "family_name", "given_key": "given_name", "mrn_key": "mrn"}
    with db.engine.connect() as connection:
        for key, column in keys.items():
            connection.exec_driver_sql(f"ALTER TABLE patient ADD COLUMN {key} VARCHAR(100)")
            connection.exec_driver_sql(f"UPDATE patient SET {key} = lower({column})")  # noqa: S608
            connection.exec_driver_sql(f"CREATE INDEX ix_{key} ON patient (clinic_id, {key})")
        connection.commit()
        # One index range per key; as one OR, SQLite without ANALYZE statistics would
        # rather walk the clinic_id index (all 10,000 rows), so the ranges are a UNION ALL.
        ranges = " UNION ALL ".join(
            f"SELECT id FROM patient WHERE clinic_id = :clinic "  # noqa: S608 - fixed names
            f"AND {key} >= :low AND {key} < :high"
            for key in keys
        )
        sql = (
            f"SELECT * FROM patient WHERE id IN ({ranges}) "  # noqa: S608 - fixed names
            "ORDER BY family_name, given_name LIMIT 50"
        )
        explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        found = {}
        for label, query in searches:
            values = {"clinic": clinic_id, "low": query.lower(), "high": query.lower() + "\uffff"}
            rows = len(connection.execute(text(sql), values).all())

            def once(values=values):
                connection.execute(text(sql), values).all()

            plan = [str(r[-1]) for r in connection.execute(text(explain + sql), values)]
            found[label] = {**summary([timed(once) for _ in range(repeat)]), "rows": rows}
            found[label]["plan"] = plan
        connection.rollback()
    return found
