"""kill -9 of gunicorn workers during saves: nothing acknowledged is lost, nothing half written.

Four clients (a patient each) save visits while a gunicorn worker is killed with SIGKILL every
0.3 s for about 5 s; gunicorn starts a new worker each time. A save counts as acknowledged
when its response (302 to /visits/<id>) arrived in full. A client that lost its answer opens the
patient's form again: the server resumes the same draft if the save did not happen, and the
client then resends the same form with the same submission key, as a browser would.

The server runs with --preload so that a killed worker is replaced in milliseconds (forked
from the loaded app) instead of the seconds an import takes: the kills then land on requests
rather than on booting workers. SQLite runs with the production default synchronous=FULL.
"""

import http.client
import os
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from spastic.extensions import db
from spastic.models import Clinic, Patient, Visit
from tests.live_gunicorn import (
    Attempt,
    Client,
    LiveGunicorn,
    acknowledged_visit,
    app_on,
    audit_verifies,
    demo_database,
    drafts_as_saved,
    hidden,
    integrity_problems,
    open_draft,
    stored_visits,
    visits_created_in_audit,
)

THERAPIST = ("therapist@demo.test", "spastic-demo")
CLIENTS = 4
KILL_EVERY = 0.3
KILL_FOR = 5.0
LOST_ANSWER = (OSError, http.client.HTTPException)  # the worker died under the request


class Tablet:
    """A client that keeps saving visits for one patient and notes what was acknowledged."""

    def __init__(self, port: int, number: int, patient_id: int):
        self.client = Client(port, timeout=20)
        self.number = number
        self.patient_id = patient_id
        self.rng = random.Random(number)
        self.posted: dict[str, Attempt] = {}
        self.lost_answers = 0
        self.lost_saves = 0  # answers lost to a POST: saved or not, the client cannot know
        self.logged_in = False

    def save_until(self, stop: threading.Event) -> "Tablet":
        while not stop.is_set():
            try:
                self._save_one()
            except LOST_ANSWER:
                self.lost_answers += 1
                time.sleep(0.05)
        return self

    def _save_one(self) -> None:
        if not self.logged_in:
            self.client.login(*THERAPIST)
            self.logged_in = True
        opened = open_draft(self.client, self.patient_id)
        if opened is None:
            return
        path, page = opened
        key = hidden(page, "submission_key")
        notes = f"crash client {self.number} form {len(self.posted)}"
        attempt = self.posted.setdefault(
            key, Attempt.fill_in(self.rng, self.patient_id, key, notes)
        )
        try:
            reply = self.client.post(path, attempt.form(page))
        except LOST_ANSWER:
            self.lost_saves += 1
            raise
        attempt.visit_id = acknowledged_visit(reply)
        if attempt.visit_id is None:
            # A clean refusal is no acknowledgement; 409 is the one expected here (a resend
            # racing its own first post, whose worker was killed after the commit).
            assert reply.status == 409, f"save answered {reply.status}: {reply.body}"


@pytest.fixture
def server(database, request, tmp_path):
    url = demo_database(database, request, tmp_path)
    with LiveGunicorn(url, tmp_path, workers=4, preload=True) as live:
        yield live


def _kill_workers(server: LiveGunicorn) -> int:
    """SIGKILL a random worker every KILL_EVERY seconds for KILL_FOR seconds."""
    kills, rng = 0, random.Random(0)
    deadline = time.monotonic() + KILL_FOR
    while time.monotonic() < deadline:
        time.sleep(KILL_EVERY)
        workers = server.worker_pids()
        if workers:
            os.kill(rng.choice(workers), signal.SIGKILL)
            kills += 1
    return kills


def test_killed_workers_lose_no_acknowledged_visit_and_half_write_none(server):
    with app_on(server.database_url):
        patients = db.session.scalars(
            select(Patient.id).join(Clinic).where(Clinic.name == "Demo Rehab").order_by(Patient.id)
        ).all()
    stop = threading.Event()
    with ThreadPoolExecutor(CLIENTS) as pool:
        tablets = [Tablet(server.port, n, patients[n]) for n in range(CLIENTS)]
        runs = [pool.submit(t.save_until, stop) for t in tablets]
        try:
            time.sleep(0.5)
            kills = _kill_workers(server)
            time.sleep(1.5)  # workers are back: saves go through again
        finally:
            stop.set()
        for run in runs:
            run.result()

    posted = {key: a for t in tablets for key, a in t.posted.items()}
    acknowledged = {key: a for key, a in posted.items() if a.visit_id is not None}
    statuses = sum((t.client.statuses for t in tablets), start=Counter())
    assert kills >= 10
    assert sum(t.lost_answers for t in tablets) > 0, "no kill landed on a request"
    assert len(acknowledged) >= 3, "too few saves went through to prove anything"
    assert not [s for s in statuses if s >= 500], statuses

    with app_on(server.database_url) as app:
        assert integrity_problems() == []
        stored = stored_visits(set(posted))
        drafts = drafts_as_saved(set(posted))
        audited = visits_created_in_audit()
        every_visit = set(db.session.scalars(select(Visit.id)))
        for key, attempt in acknowledged.items():
            assert key in stored, f"acknowledged visit {attempt.visit_id} is missing"
            assert stored[key][0] == attempt.visit_id
        for key, attempt in posted.items():
            # Whole or absent, acknowledged or not: the visit with every row of its form,
            # its draft closed and pointing at it, its audit row - or none of these.
            visit_id, content = stored.get(key, (None, None))
            assert content in (None, attempt.content), visit_id
            assert drafts[key] == (visit_id, visit_id is not None), (key, visit_id)
            assert visit_id is None or visit_id in audited
        assert audited <= every_visit  # no audit row for a save that was rolled back
        assert "Audit trail intact" in audit_verifies(app)
    figures = {
        "kills": kills,
        "lost_answers": sum(t.lost_answers for t in tablets),
        "lost_saves": sum(t.lost_saves for t in tablets),
        "acknowledged": len(acknowledged),
        "stored_unacknowledged": len(set(stored) - set(acknowledged)),
        "refused_409": statuses[409],
    }
    print("crash figures:", figures)  # shown with -s or -rP

    survivor = Client(server.port)
    survivor.login(*THERAPIST)
    path, page = open_draft(survivor, patients[CLIENTS])
    key = hidden(page, "submission_key")
    attempt = Attempt.fill_in(random.Random(99), patients[CLIENTS], key, "after the kills")
    assert acknowledged_visit(survivor.post(path, attempt.form(page))) is not None
    assert "Traceback" not in server.log(), server.log()[-5000:]  # SIGKILL leaves none
