"""Database size per 1000 visits: 24 MAS grades each, the draft it was typed in, its audit
rows and its signature, saved through the app as a tablet saves them.

Baseline: the empty database as the migrations leave it. SQLite is measured as its file after
a WAL checkpoint, per table (and its indexes) from `dbstat`; PostgreSQL as `pg_database_size`
and `pg_total_relation_size` per table, after a plain VACUUM so both sizes are settled.
The demo clinic's data is added first, so the visits' cost is measured on top of it.
A stored PDF summary (kept for each signed visit whose summary was downloaded) is measured
on its own: it is not part of every visit.
"""

from pathlib import Path

from sqlalchemy import select, text

from bench.common import fresh_database, login, migrated_app, ratio, visit_form

FULL_VISITS = 1000
QUICK_VISITS = 100
PDFS = 3


def run(database: str, url: str, quick: bool = False) -> list[dict]:
    from spastic.extensions import db

    visits = QUICK_VISITS if quick else FULL_VISITS
    app = migrated_app(fresh_database(url, "size"))
    with app.app_context():
        empty = _sizes()
        _seed_demo()
        seeded = _sizes()
        rows_before = _row_counts()
        _save_and_sign(app, visits)
        after = _sizes()
        rows_per_visit = {
            table: round((count - rows_before.get(table, 0)) / visits, 2)
            for table, count in _row_counts().items()
            if count != rows_before.get(table, 0)
        }
        pdf_bytes = _stored_pdf_bytes(app)
        db.session.remove()
        db.engine.dispose()
    return [
        _visits_row(database, visits, empty, seeded, after, rows_per_visit),
        _pdf_row(database, visits, seeded, after, pdf_bytes),
    ]


def _seed_demo() -> None:
    from spastic.demo.seed import seed

    seed()


def _save_and_sign(app, count: int) -> None:
    """Save `count` visits through the app (open the form, post it), then sign them."""
    from flask_login import login_user

    from spastic.extensions import db
    from spastic.models import Clinic, Patient, User, Visit
    from spastic.visits import signing as visit_records

    patients = db.session.scalars(
        select(Patient.id).join(Clinic).where(Clinic.name == "Demo Rehab").order_by(Patient.id)
    ).all()
    client = app.test_client()
    login(client)
    saved = []
    for n in range(count):
        patient = patients[n % len(patients)]
        draft = client.post(f"/patients/{patient}/visits/new").location
        page = client.get(draft).get_data(as_text=True)
        response = client.post(draft, data=visit_form(page))
        assert response.status_code == 302, response.status_code
        saved.append(int(response.location.split("/")[2]))
    # Signing through the app costs an argon2 check of the password per visit: signed here
    # with the app's own function, as the therapist, in batches.
    therapist = db.session.scalar(select(User).where(User.email == "therapist@demo.test"))
    for start in range(0, count, 100):
        with app.test_request_context():
            login_user(therapist)
            for visit_id in saved[start : start + 100]:
                visit = db.session.get(Visit, visit_id)
                visit_records.sign(visit, therapist, "I performed and recorded this assessment")
            db.session.commit()


def _stored_pdf_bytes(app) -> list[int]:
    """Store the summaries of a few of the signed visits as signing does; their sizes."""
    from spastic.extensions import db
    from spastic.models import SummaryDocument, Visit
    from spastic.reports.documents import store_summary

    visits = db.session.scalars(
        select(Visit.id).where(Visit.status == "signed").order_by(Visit.id.desc()).limit(PDFS)
    ).all()
    with app.test_request_context():
        for visit_id in visits:
            store_summary(visit_id)
    stored = select(SummaryDocument).where(SummaryDocument.visit_id.in_(visits))
    sizes = [len(document.pdf) for document in db.session.scalars(stored)]
    assert len(sizes) == len(visits), "a signed visit's summary was not stored"
    return sizes


def _sizes() -> dict:
    """{"total": bytes, "tables": {table: bytes incl. its indexes}} of the current database."""
    from spastic.extensions import db

    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        return _sqlite_sizes(db.engine)
    return _postgresql_sizes(db.engine)


def _sqlite_sizes(engine) -> dict:
    connection = engine.raw_connection()  # outside a transaction, which would block the checkpoint
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the WAL checkpoint was blocked"
        pages = connection.execute(
            "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
            "LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1"
        ).fetchall()
    finally:
        connection.close()
    return {"total": Path(engine.url.database).stat().st_size, "tables": dict(pages)}


def _postgresql_sizes(engine) -> dict:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM")
        total = connection.scalar(text("SELECT pg_database_size(current_database())"))
        tables = connection.execute(
            text(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        ).all()
    return {"total": total, "tables": dict(tables)}


def _row_counts() -> dict[str, int]:
    from spastic.extensions import db

    counts = {}
    for table in db.metadata.sorted_tables:
        counts[table.name] = db.session.scalar(select(text("count(*)")).select_from(table))
    return counts


def _visits_row(database, visits, empty, seeded, after, rows_per_visit) -> dict:
    per_visit = (after["total"] - seeded["total"]) / visits
    per_table = {
        table: round((size - seeded["tables"].get(table, 0)) / visits)
        for table, size in sorted(after["tables"].items(), key=lambda item: -item[1])
        if size != seeded["tables"].get(table, 0)
    }
    per_1000_kib = round(per_visit * 1000 / 1024, 1)
    empty_kib = round(empty["total"] / 1024, 1)
    return {
        "name": f"database size per 1000 visits, KiB ({database})",
        "unit": "KiB",
        "baseline": {"what": "empty migrated database", "n": 1, "median": empty_kib},
        "measured": {"n": visits, "median": per_1000_kib},
        "ratio_median": ratio(per_1000_kib, empty_kib),
        "bytes_per_visit": round(per_visit),
        "bytes_per_visit_by_table": per_table,
        "rows_per_visit": rows_per_visit,
        "visits_measured": visits,
        "demo_data_kib": round((seeded["total"] - empty["total"]) / 1024, 1),
    }


def _pdf_row(database, visits, seeded, after, pdf_bytes) -> dict:
    per_visit_kib = round((after["total"] - seeded["total"]) / visits / 1024, 2)
    pdf_kib = sorted(round(size / 1024, 1) for size in pdf_bytes)
    median = pdf_kib[len(pdf_kib) // 2]
    return {
        "name": f"stored PDF summary per signed visit, KiB ({database})",
        "unit": "KiB",
        "baseline": {"what": "one visit without its PDF", "n": visits, "median": per_visit_kib},
        "measured": {"n": len(pdf_kib), "median": median, "p95": pdf_kib[-1]},
        "ratio_median": ratio(median, per_visit_kib),
    }
