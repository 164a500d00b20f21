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
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(p95 * 1000, 3),
    }


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


def make_app(url: str):
    from spastic import create_app
    from spastic.extensions import db

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SECRET_KEY": "bench-secret-key-long-enough-0123456789",
            "DATABASE_URL": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app
