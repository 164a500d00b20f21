"""Patient search (the live search: GET /patients?q=...&partial=1) with 10,000 patients.

Baseline in the same run: the same search on the same database before the 10,000 patients
are added, when the clinic holds only the 12 demo patients. The patients are inserted in
bulk (one executemany), with names built from syllables so a fragment matches a realistic
share of them, and indexed for the search as the ORM would (`search_index.rebuild`).
Besides the request, the search alone (`search.find`: its SQL and ORM) is timed with its
statements' plans, and so is the same search looked for inside words (the on-demand
"inside names" search, a scan of the clinic's tokens).
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
        inside = {label: _search_alone(query, repeat, inside=True) for label, query in searches}
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
            "plans": alone[label]["plans"],
            "inside_words_alone": inside[label]["timings"],
            "inside_words_plans": inside[label]["plans"],
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
    from spastic.patients import search_index

    db.session.execute(insert(Patient), _patient_rows(clinic_id))
    added = db.session.scalars(select(Patient.id).where(Patient.mrn.like("BN-%"))).all()
    search_index.rebuild(patient_ids=added)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # statistics, as autovacuum would gather them
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE patient, patient_search_token")
            connection.commit()


def _timings(client, query: str, repeat: int) -> dict:
    path = f"/patients?q={query}&partial=1"
    response = client.get(path)  # warm up, and check it answers
    assert response.status_code == 200, response.status_code
    return summary([timed(lambda: client.get(path)) for _ in range(repeat)])


def _search_alone(query: str, repeat: int, inside: bool = False) -> dict:
    """The app's search as the therapist calls it (SQL and ORM, no HTTP, no template, no
    audit row), and the database's plan for each of its statements."""
    from flask import current_app
    from flask_login import login_user

    from spastic.extensions import db
    from spastic.models import User
    from spastic.patients import search

    seen = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    with current_app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == "therapist@demo.test"))
        login_user(user)
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            found = search.find(user, query, inside=inside)
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        timings = summary(
            [timed(lambda: search.find(user, query, inside=inside)) for _ in range(repeat)]
        )
        db.session.rollback()
    shown = {"rows": len(found.patients), "matches": found.matches}
    plans = [_explain(statement, parameters) for statement, parameters in seen]
    return {"timings": {**timings, **shown}, "plans": plans}


def _explain(statement: str, parameters) -> list[str]:
    from spastic.extensions import db

    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
        connection.rollback()
    return [str(row[-1]) for row in rows]
