"""Shared helpers for the benchmarks: timing, statistics, apps on SQLite and PostgreSQL."""

import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_server import PostgresServer, PostgresUnavailable  # noqa: E402

GRADES = ("0", "1", "1+", "2", "3", "4")


def machine() -> dict:
    """Describe the machine the figures were measured on."""
    memory_kb = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
    }


def summary(samples_s: list[float]) -> dict:
    """Median and p95 in milliseconds."""
    ordered = sorted(samples_s)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(percentile(ordered, 95) * 1000, 3),
    }


def percentile(ordered: list[float], rank: float) -> float:
    """The nearest-rank percentile of already sorted values (as `summary` takes p95)."""
    return ordered[min(len(ordered) - 1, round(rank / 100 * (len(ordered) - 1)))]


def latency(samples_s: list[float]) -> dict:
    """Median (p50), p95 and p99 in milliseconds; zeros when nothing was measured."""
    if not samples_s:
        return {"n": 0, "median_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(samples_s)
    return {**summary(ordered), "p99_ms": round(percentile(ordered, 99) * 1000, 3)}


def spread(values: list[float]) -> dict:
    """Median and p95 of figures that are not times (sizes, memory), in their own unit."""
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 3),
        "p95": round(percentile(ordered, 95), 3),
    }


def ratio(measured: float, baseline: float) -> float:
    return round(measured / baseline, 2) if baseline else float("nan")


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@contextmanager
def databases():
    """Yield (name, url) for a fresh SQLite file and, when it can start, a PostgreSQL server."""
    folder = tempfile.mkdtemp(prefix="spastic-bench-")
    server = None
    try:
        targets = [("sqlite", f"sqlite:///{folder}/bench.db")]
        try:
            server = PostgresServer().start()
            targets.append(("postgresql", server.url()))
        except PostgresUnavailable as error:
            print(f"PostgreSQL not measured: {error}", file=sys.stderr)
        yield targets
    finally:
        if server:
            server.stop()


def fresh_database(url: str, name: str) -> str:
    """A new, empty database next to the one at `url` (same folder or same server)."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///")).with_name(f"{name}.db")
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres".replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def login(client, email: str = "therapist@demo.test") -> None:
    """Log the test client in as a demo account."""
    from spastic.demo.seed import DEMO_PASSWORD

    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code


def visit_form(page: str) -> dict:
    """The visit form a tablet posts: all 12 muscles graded on both sides (24 grades),
    carried grades kept; the hidden fields (CSRF when enabled, version, key) from `page`."""
    from datetime import date

    from spastic.clinical import scales
    from tests.live_gunicorn import hidden

    form = {
        "version": hidden(page, "version"),
        "submission_key": hidden(page, "submission_key"),
        "visit_date": date.today().isoformat(),
        "rater": "Bench Rater",
        "muscles": list(scales.STANDARD_MUSCLES),
        "pain_now": "3",
        "pain_worst": "6",
        "penn_frequency": "2",
        "penn_severity": "1",
        "adherence": "as_prescribed",
        "notes": "Benchmark visit",
    }
    if 'name="csrf_token"' in page:
        form["csrf_token"] = hidden(page, "csrf_token")
    for index, muscle in enumerate(scales.STANDARD_MUSCLES):  # the twelve usual groups
        for side in scales.SIDES:
            form[f"mas-{muscle}-{side}"] = GRADES[index % len(GRADES)]
            form[f"carry-{muscle}-{side}"] = "kept"
    return form


BENCH_CONFIG = {
    "ENV_NAME": "testing",
    "SECRET_KEY": "bench-secret-key-long-enough-0123456789",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
}


def make_app(url: str):
    from spastic import create_app
    from spastic.extensions import db

    app = create_app({**BENCH_CONFIG, "DATABASE_URL": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def migrated_app(url: str):
    """An app on an empty database brought up by the migrations, as in production."""
    import contextlib
    import io

    from flask_migrate import upgrade

    from spastic import create_app

    app = create_app({**BENCH_CONFIG, "DATABASE_URL": url})
    log = io.StringIO()  # Alembic's logging config writes each step to stderr
    try:
        with app.app_context(), contextlib.redirect_stderr(log):
            upgrade()
    except Exception:
        print(log.getvalue(), file=sys.stderr)
        raise
    return app
