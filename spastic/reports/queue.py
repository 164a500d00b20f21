"""Summaries rendered after signing, off the request: the queue that takes them.

A signature or amendment is committed first; then its summary version is handed to a queue,
and the signing request answers without waiting for WeasyPrint. `SPASTIC_SUMMARY_QUEUE` says
which queue:

- `inprocess` (the default): a bounded queue and one daemon thread per app in each process,
  with its own app context and database session. The thread starts lazily, at the first job
  of the process that serves requests - under gunicorn a worker, never the master, whose
  threads a fork would not carry over.
- `rq`: jobs go to RQ on Redis (`SPASTIC_REDIS_URL`), for a clinic group running several app
  servers; `flask --app spastic summaries-worker` renders them (on any machine).
- `inline`: rendered in the signing request after its commit (tests that read the stored copy
  at once, and a one-process setup that prefers it).

Nothing is lost: when the queue is full or Redis cannot be reached, the signing request renders
the summary itself, as `inline` does. A job lost with its process (crash, restart) is redone
when a worker starts - the in-process thread and `summaries-worker` first render every signed
version that has no stored PDF - and by `flask --app spastic summaries-render-missing`.
Rendering twice stores once (`documents._store`: ON CONFLICT DO NOTHING).
"""

import atexit
import os
import queue
import threading
import time

from flask import Flask, current_app
from sqlalchemy import func, select

from spastic.config import ConfigError
from spastic.extensions import db
from spastic.models import Amendment, SummaryDocument, Visit
from spastic.reports.documents import store_summary

KINDS = ("inprocess", "rq", "inline")
RQ_JOB = "spastic.reports.queue.render_job"


def register(app: Flask) -> None:
    """Check the queue settings and give the app its queue."""
    kind = app.config["SUMMARY_QUEUE"]
    if kind not in KINDS:
        raise ConfigError(f"SPASTIC_SUMMARY_QUEUE must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "rq" and not app.config.get("REDIS_URL"):
        raise ConfigError(
            "SPASTIC_SUMMARY_QUEUE=rq needs SPASTIC_REDIS_URL, e.g. redis://127.0.0.1:6379/0"
        )
    backend = {"inprocess": InProcessQueue, "rq": RQQueue, "inline": InlineQueue}[kind]
    app.extensions["summary_queue"] = backend(app)


def summary_queue(app: Flask | None = None):
    """The app's summary queue."""
    return (app or current_app).extensions["summary_queue"]


def missing_versions() -> list[tuple[int, int]]:
    """Every (visit, version) of a signed visit that has no stored PDF, oldest first."""
    amendments = (
        select(func.count(Amendment.id))
        .where(Amendment.visit_id == Visit.id)
        .correlate(Visit)
        .scalar_subquery()
    )
    newest = dict(
        db.session.execute(
            select(Visit.id, 1 + amendments)
            .where(Visit.status == "signed", Visit.discarded_at.is_(None))
            .order_by(Visit.id)
        ).all()
    )
    stored = set(db.session.execute(select(SummaryDocument.visit_id, SummaryDocument.version)))
    db.session.rollback()
    return [
        (visit_id, version)
        for visit_id, count in newest.items()
        for version in range(1, count + 1)
        if (visit_id, version) not in stored
    ]


def render_missing() -> int:
    """Render and store every missing signed version here and now; return how many."""
    done = 0
    for visit_id, version in missing_versions():
        done += store_summary(visit_id, version)
    return done


class InlineQueue:
    """Render in the caller, right away."""

    def __init__(self, app: Flask):
        self.app = app

    def submit(self, visit_id: int, version: int) -> None:
        store_summary(visit_id, version)

    def wait(self, visit_id: int, version: int, timeout: float) -> None:
        """Nothing is ever in flight."""


class InProcessQueue(InlineQueue):
    """A bounded queue and one daemon thread per app in this process."""

    def __init__(self, app: Flask):
        super().__init__(app)
        self.size = int(app.config["SUMMARY_QUEUE_SIZE"])
        self._lock = threading.Lock()
        self._pid: int | None = None

    def submit(self, visit_id: int, version: int) -> None:
        self.start()
        with self._lock:
            done = self._pending.setdefault((visit_id, version), threading.Event())
        try:
            self._jobs.put_nowait((visit_id, version))
        except queue.Full:  # never dropped: this request renders it itself
            self.app.logger.warning("summary queue full: visit %s rendered inline", visit_id)
            try:
                store_summary(visit_id, version)
            finally:
                self._done((visit_id, version), done)

    def wait(self, visit_id: int, version: int, timeout: float) -> None:
        """Wait (at most `timeout` s) for this process's job for the version, if there is one."""
        with self._lock:
            done = self._pending.get((visit_id, version)) if self._pid == os.getpid() else None
        if done is not None:
            done.wait(timeout)

    def join(self, timeout: float = 30) -> bool:
        """Wait until every job handed to this process so far is done (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = self._pid != os.getpid() or (not self._pending and self._idle)
            if idle:
                return True
            time.sleep(0.02)
        return False

    def start(self) -> None:
        """Start this process's renderer thread (once per process; at its first job)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits this object with no thread behind it: start afresh.
            self._pid, self._idle = os.getpid(), False
            self._jobs: queue.Queue = queue.Queue(self.size)
            self._pending: dict[tuple[int, int], threading.Event] = {}
            thread = threading.Thread(target=self._run, name="summary-renderer", daemon=True)
            thread.start()
        # A worker told to stop (gunicorn's graceful restart) first finishes what it holds;
        # whatever a harder stop loses, the next start's sweep renders.
        atexit.register(self.join, self.app.config["SUMMARY_WAIT_SECONDS"] * 4)

    def _run(self) -> None:
        self._each(render_missing)  # what a crash or restart may have lost
        while True:
            with self._lock:
                self._idle = self._jobs.empty()
            key = self._jobs.get()
            with self._lock:
                self._idle = False
                done = self._pending.get(key)
            self._finish(key, done, lambda key=key: store_summary(*key))

    def _finish(self, key, done, render) -> None:
        try:
            self._each(render)
        finally:
            self._done(key, done)

    def _done(self, key, done) -> None:
        with self._lock:
            self._pending.pop(key, None)
        if done is not None:
            done.set()

    def _each(self, render) -> None:
        try:
            with self.app.app_context():
                render()
        except Exception:  # the thread must live on; the sweep at the next start redoes it
            self.app.logger.exception("summary rendering failed")


class RQQueue(InlineQueue):
    """Jobs on RQ (Redis), rendered by `flask --app spastic summaries-worker`."""

    def queue(self):
        from redis import Redis
        from rq import Queue

        connection = Redis.from_url(self.app.config["REDIS_URL"], socket_timeout=5)
        return Queue(self.app.config["SUMMARY_RQ_QUEUE"], connection=connection)

    def submit(self, visit_id: int, version: int) -> None:
        from rq import Retry

        try:
            self.queue().enqueue(
                RQ_JOB,
                visit_id,
                version,
                job_id=_job_id(visit_id, version),
                retry=Retry(max=3, interval=[10, 60, 300]),
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
            )
        except Exception:  # Redis unreachable: never lost, this request renders it itself
            self.app.logger.exception("summary job not queued: visit %s rendered inline", visit_id)
            store_summary(visit_id, version)

    def wait(self, visit_id: int, version: int, timeout: float) -> None:
        """Wait (at most `timeout` s) while the version's job is queued or running."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        deadline = time.monotonic() + timeout
        try:
            job = Job.fetch(_job_id(visit_id, version), connection=self.queue().connection)
            while time.monotonic() < deadline and job.get_status(refresh=True) in (
                "queued",
                "started",
                "deferred",
                "scheduled",
            ):
                time.sleep(0.05)
        except NoSuchJobError:
            return
        except Exception:  # Redis unreachable: the download renders without waiting
            self.app.logger.exception("summary job of visit %s not checked", visit_id)


def render_job(visit_id: int, version: int) -> None:
    """The RQ job: render and store one version (raises, so RQ retries and keeps the error)."""
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        raise RuntimeError(
            "summary jobs run inside the app: start workers with "
            "`flask --app spastic summaries-worker`"
        ) from None
    try:
        if not store_summary(visit_id, version, raise_errors=True):
            app.logger.info("summary of visit %s version %s already stored", visit_id, version)
    finally:
        db.session.remove()


def _job_id(visit_id: int, version: int) -> str:
    return f"summary-{visit_id}-{version}"
