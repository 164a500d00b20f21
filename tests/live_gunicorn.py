"""The app under real gunicorn on 127.0.0.1, a cookie-keeping HTTP client, and checks of the store.

Used by the concurrency and crash-safety tests: the database is set up in this process
(schema + `seed-demo`), gunicorn serves it from a subprocess, the checks read it back here.
"""

import http.client
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
from flask import Flask
from sqlalchemy import select, text

from spastic import create_app
from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import AuditEvent, Draft, MasScore, SideEffect, Visit
from tests.conftest import _test_config

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "live-gunicorn-test-secret-key-0123456789abcdef"
AUDIT_KEY = "live-gunicorn-test-audit-key-0123456789abcdef"


class LiveGunicorn:
    """`gunicorn wsgi:app` with N sync workers on a socket bound here (no port race).

    Use as a context manager: the server is stopped on the way out, whatever happened.
    """

    def __init__(self, database_url: str, folder: Path, workers: int = 4, preload: bool = False):
        self.database_url = database_url
        self.folder = folder
        self.workers = workers
        self.preload = preload
        self.log_path = folder / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "LiveGunicorn":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=fd://{listener.fileno()}",
            f"--workers={self.workers}",
            "--worker-class=sync",
            "--graceful-timeout=5",
            "--timeout=30",
            "--no-control-socket",  # else every instance shares ~/.gunicorn/gunicorn.ctl
            *(["--preload"] if self.preload else []),
            "wsgi:app",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
                start_new_session=True,  # its own process group, so teardown can end it all
            )
        listener.close()
        self._wait_until_healthy()

    def _environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPASTIC_")}
        env.update(
            SPASTIC_DATABASE_URL=self.database_url,
            SPASTIC_SECRET_KEY=SECRET_KEY,
            SPASTIC_AUDIT_KEY=AUDIT_KEY,
            SPASTIC_ENV_NAME="production",
            SPASTIC_RATELIMIT_ENABLED="false",
            SPASTIC_INSTANCE_PATH=str(self.folder / "instance"),
        )
        return env

    def _wait_until_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log()}")
            try:
                if Client(self.port, timeout=2).get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not healthy after {timeout} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The master's children: the workers (gunicorn restarts those that die)."""
        pids = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> None:
        """Ask gunicorn to stop (SIGTERM: workers finish their request); `stop` waits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to the whole process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the master and any worker left
            self.process.wait(timeout=10)


@dataclass(frozen=True)
class Reply:
    status: int
    location: str  # path only
    body: str


class Client:
    """One browser: a cookie jar and a new connection per request (sync workers close them)."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.statuses: Counter[int] = Counter()

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Reply:
        return self.request("POST", path, form)

    def request(self, method: str, path: str, form: dict | None = None) -> Reply:
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            self.statuses[response.status] += 1
            self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
            location = urlsplit(response.getheader("Location", "")).path
            return Reply(response.status, location, text)
        finally:
            connection.close()

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def login(self, email: str, password: str) -> None:
        page = self.get("/login").body
        reply = self.post(
            "/login",
            {"email": email, "password": password, "csrf_token": hidden(page, "csrf_token")},
        )
        if reply.status != 302:
            raise AssertionError(f"login as {email} answered {reply.status}")


def hidden(page: str, name: str) -> str:
    """The value of a hidden input (csrf_token, version, submission_key) on a page."""
    found = re.search(rf'name="{name}" (?:type="hidden" )?value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    if found is None:
        raise AssertionError(f"no hidden input {name!r} on the page")
    return found.group(1)


@dataclass
class Attempt:
    """One visit form as a client filled it in; `visit_id` is set once a save is acknowledged."""

    patient_id: int
    key: str
    notes: str
    grades: dict[tuple[str, str], str]  # (muscle, side) -> MAS grade, both sides of each muscle
    visit_id: int | None = None
    side_effects = {"drowsiness": "mild"}  # noqa: RUF012 - the same on every form

    @property
    def content(self) -> tuple:
        """What the visit stored from this form must hold, row for row (see `stored_visits`)."""
        return visit_content(self.notes, self.grades, self.side_effects)

    @classmethod
    def fill_in(cls, rng: random.Random, patient_id: int, key: str, notes: str) -> "Attempt":
        """1 to 4 muscles, so a visit stored with rows missing cannot pass for another."""
        muscles = rng.sample([m.code for m in scales.MUSCLES], rng.randint(1, 4))
        grades = {(m, s): rng.choice(scales.MAS_GRADES) for m in muscles for s in scales.SIDES}
        return cls(patient_id, key, notes, grades)

    def form(self, page: str) -> dict:
        """The body a tablet posts: every muscle-side graded, carried grades kept."""
        form = {
            "csrf_token": hidden(page, "csrf_token"),
            "version": hidden(page, "version"),
            "submission_key": self.key,
            "visit_date": time.strftime("%Y-%m-%d"),
            "rater": "Load Test",
            "muscles": sorted({muscle for muscle, _ in self.grades}),
            "pain_now": "3",
            "pain_worst": "6",
            "penn_frequency": "2",
            "penn_severity": "1",
            **{f"se-{code}": severity for code, severity in self.side_effects.items()},
            "adherence": "as_prescribed",
            "notes": self.notes,
        }
        for (muscle, side), grade in self.grades.items():
            form[f"mas-{muscle}-{side}"] = grade
            form[f"carry-{muscle}-{side}"] = "kept"
        return form


def start_visit(client: Client, patient_id: int) -> Reply:
    """Tap "New visit" on the patient page: a POST with the page's CSRF token."""
    page = client.get(f"/patients/{patient_id}").body
    return client.post(
        f"/patients/{patient_id}/visits/new", {"csrf_token": hidden(page, "csrf_token")}
    )


def open_draft(client: Client, patient_id: int) -> tuple[str, str] | None:
    """Open (or resume) the patient's visit form; its path and page, None if just consumed."""
    reply = start_visit(client, patient_id)
    if reply.status != 302 or not reply.location.startswith("/drafts/"):
        raise AssertionError(f"new visit for patient {patient_id} answered {reply.status}")
    page = client.get(reply.location)
    if page.status == 302:  # someone saved this draft between the two requests
        return None
    if page.status != 200:
        raise AssertionError(f"draft {reply.location} answered {page.status}")
    return reply.location, page.body


def acknowledged_visit(reply: Reply) -> int | None:
    """The visit id of a save the server acknowledged (302 to the visit's review page, or to the
    visit itself once signed), else None."""
    found = (
        re.fullmatch(r"/visits/(\d+)(/review)?", reply.location) if reply.status == 302 else None
    )
    return int(found.group(1)) if found else None


_SEEDED: dict[str, str] = {}  # database kind -> URL of a demo database to copy from


def demo_database(database: str, request, folder: Path) -> str:
    """A new database of the kind of `database` holding the schema and the demo data.

    Seeding (argon2 hashes, demo visits) takes seconds, so it runs once per kind; each test
    gets a copy: SQLite through the backup API, PostgreSQL as CREATE DATABASE ... TEMPLATE.
    """
    kind = "sqlite" if database.startswith("sqlite") else "postgresql"
    if kind not in _SEEDED:
        _SEEDED[kind] = _new_database(request, kind, None)
        with app_on(_SEEDED[kind]) as app:
            db.create_all()
            result = app.test_cli_runner().invoke(args=["seed-demo"])
            assert result.exit_code == 0, result.output
    return _new_database(request, kind, folder, template=_SEEDED[kind])


def _new_database(request, kind: str, folder: Path | None, template: str | None = None) -> str:
    if kind == "sqlite":
        folder = folder or request.getfixturevalue("tmp_path_factory").mktemp("seeded")
        path = folder / "spastic.db"
        if template:
            with (
                closing(sqlite3.connect(template.removeprefix("sqlite:///"))) as source,
                closing(sqlite3.connect(path)) as copy,
            ):
                source.backup(copy)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("postgres_server")
    name = f"live_{uuid.uuid4().hex[:12]}"
    source = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    with psycopg.connect(server.url("postgres", driver=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{source}')
    return server.url(name)


@contextmanager
def app_on(url: str) -> Iterator[Flask]:
    """An app context on the database, to read it back; its connections closed afterwards.

    It keys the audit chain as the server does, so rows it seeds and rows the server writes
    form one chain that audit-verify can check.
    """
    app = create_app(_test_config(url, AUDIT_KEY=AUDIT_KEY))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def stored_visits(keys: set[str]) -> dict[str, tuple[int, tuple]]:
    """{submission key: (visit id, (notes, MAS grades, side effects))} of the visits stored."""
    visits = db.session.scalars(select(Visit).where(Visit.submission_key.in_(keys))).all()
    grades: dict[int, dict] = {v.id: {} for v in visits}
    for row in db.session.scalars(select(MasScore).where(MasScore.visit_id.in_(grades))):
        grades[row.visit_id][(row.muscle, row.side)] = row.grade
    effects: dict[int, dict] = {v.id: {} for v in visits}
    for row in db.session.scalars(select(SideEffect).where(SideEffect.visit_id.in_(effects))):
        effects[row.visit_id][row.code] = row.severity
    return {
        v.submission_key: (v.id, visit_content(v.notes, grades[v.id], effects[v.id]))
        for v in visits
    }


def visit_content(notes: str, grades: dict, side_effects: dict) -> tuple:
    """A visit's content in a hashable form, whether posted or read back."""
    return notes, tuple(sorted(grades.items())), tuple(sorted(side_effects.items()))


def drafts_as_saved(keys: set[str]) -> dict[str, tuple[int | None, bool]]:
    """{submission key: (visit id, consumed)} of the drafts: (id, True) once saved as a visit."""
    query = select(Draft.submission_key, Draft.visit_id, Draft.consumed_at.is_not(None))
    return {
        key: (visit, consumed)
        for key, visit, consumed in db.session.execute(query.where(Draft.submission_key.in_(keys)))
    }


def visits_created_in_audit() -> set[int]:
    query = select(AuditEvent.entity_id).where(
        AuditEvent.action == "create", AuditEvent.entity == "visit"
    )
    return set(db.session.scalars(query))


def audit_verifies(app: Flask) -> str:
    """Run `flask audit-verify`; return its output, failing unless it exits 0."""
    result = app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    return result.output


def integrity_problems() -> list[str]:
    """SQLite's integrity and foreign key checks; PostgreSQL's amcheck of every B-tree index."""
    connection = db.session.connection()  # a second connection would wait for this one
    if connection.dialect.name == "sqlite":
        found = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        orphans = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        db.session.rollback()
        return [p for p in found if p != "ok"] + [f"foreign key: {o}" for o in orphans]
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    connection.execute(
        text(
            "SELECT bt_index_check(c.oid, true) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE am.amname = 'btree' AND n.nspname = 'public'"
        )
    ).all()
    db.session.commit()
    return []  # amcheck raises on a corrupt index
