"""`flask backup` / `flask restore`: a live backup restores into a fresh database intact."""

import hashlib
import threading
import uuid

from sqlalchemy import create_engine, select, text

from spastic.models import Base
from tests.conftest import PASSWORD


def _fresh_url(database, request, tmp_path, name):
    if database.startswith("sqlite"):
        return f"sqlite:///{tmp_path / name}.db"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"{name}_{uuid.uuid4().hex[:8]}")


def _checksums(url: str) -> dict:
    """Row count and a hash of every row, per table, in primary-key order."""
    engine = create_engine(url)
    sums = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            sums[table.name] = (len(rows), digest)
    engine.dispose()
    return sums


def _save_visits(app, count: int, stop: threading.Event):
    client = app.test_client()
    client.post("/login", data={"email": "therapist@demo.test", "password": "spastic-demo"})
    for _ in range(count):
        if stop.is_set():
            return
        location = client.post("/patients/11/visits/new").location
        page = client.get(location).get_data(as_text=True)
        key = page.split('name="submission_key" value="', 1)[1].split('"', 1)[0]
        version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
        data = {
            "visit_date": "2026-01-10",
            "rater": "R",
            "muscles": ["hip_flexors"],
            "mas-hip_flexors-left": "2",
            "mas-hip_flexors-right": "1+",
            "version": version,
            "submission_key": key,
        }
        for carried in ("left", "right"):
            data[f"carry-hip_flexors-{carried}"] = "kept"
        client.post(location, data=data)


def test_backup_while_saving_then_restore(seeded_demo, runner, database, request, tmp_path):
    app = seeded_demo
    stop = threading.Event()
    writer = threading.Thread(target=_save_visits, args=(app, 15, stop))
    writer.start()
    target = tmp_path / "live.backup"
    result = runner.invoke(args=["backup", str(target)])
    stop.set()
    writer.join()
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output
    restored_url = _fresh_url(database, request, tmp_path, "restored")
    from spastic import create_app
    from tests.conftest import _test_config

    restored = create_app(_test_config(restored_url))
    result = restored.test_cli_runner().invoke(args=["restore", str(target)])
    assert result.exit_code == 0, result.output
    check = restored.test_cli_runner().invoke(args=["audit-verify"])
    assert "Audit trail intact" in check.output
    engine = create_engine(restored_url)
    with engine.connect() as conn:
        # No half-written visit: every visit has both its hip flexor rows, or the demo's own.
        half = conn.execute(
            text(
                "SELECT v.id FROM visit v LEFT JOIN mas_score m ON m.visit_id = v.id "
                "GROUP BY v.id HAVING COUNT(m.id) = 0"
            )
        ).all()
        assert half == []
    engine.dispose()
    client = restored.test_client()
    response = client.post(
        "/login", data={"email": "therapist@demo.test", "password": "spastic-demo"}
    )
    assert response.status_code == 302
    _dispose(restored)


def test_quiet_backup_restores_identical_tables(seeded_demo, runner, database, request, tmp_path):
    app = seeded_demo
    target = tmp_path / "quiet.backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    restored_url = _fresh_url(database, request, tmp_path, "quiet")
    from spastic import create_app
    from tests.conftest import _test_config

    restored = create_app(_test_config(restored_url))
    assert restored.test_cli_runner().invoke(args=["restore", str(target)]).exit_code == 0
    _dispose(restored)
    original = _checksums(app.config["SQLALCHEMY_DATABASE_URI"])
    assert _checksums(restored_url) == original
    assert original["visit"][0] > 0 and original["audit_event"][0] > 0
    assert PASSWORD  # fixture users are not needed here


def _dispose(app):
    from spastic.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
