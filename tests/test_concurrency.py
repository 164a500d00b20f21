"""Tablets saving visits at once under gunicorn (4 sync workers): each save stored exactly once.

Eight clients each log in and save new visits. Clients 0-3 each have a patient of their own;
clients 4+5 and 6+7 share one patient per pair. The clinic keeps one open draft per patient
(POST /patients/<id>/visits/new resumes it), so two clients on one patient can land on the same
draft and post it with the same submission key. The server keeps the first form, answers it
with the visit and answers the other with 409 and the differences (nothing of it is saved).
Such a save counts for the client that claims the key first; the other starts a fresh draft,
as a therapist who found the visit already saved would. So every
client ends with VISITS_EACH saves of its own, and the store must hold exactly those visits,
none twice, each with the content posted under its key.

The clients save in rounds: each opens its form, then all eight post at the same moment (a
barrier), so every round is eight saves at once against four workers, and each pair posts one
draft under one key at once (one wins; the other is answered 409, or sent to the winner's
visit) - contention by construction, not by the luck of a long loop. Once a client has its
saves it stops waiting for the others (the pairs need more rounds: a round gives a pair one save).

`make test` runs 8 x 12 saves per database (96 saves, at least 12 rounds of eight at once);
`make fuzz` runs the full 8 x 50 = 400 (SPASTIC_LOAD_VISITS_EACH sets another count). About
0.12 s of server CPU per save (new draft, form page, post). gunicorn runs with --preload: four
workers importing the app at once take 10-20 s to start here, one import 3 s.
"""

import contextlib
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import Clinic, Patient, Visit
from tests.conftest import PASSWORD
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
CLIENTS = 8
VISITS_EACH = int(os.environ.get("SPASTIC_LOAD_VISITS_EACH", "12"))
ROUND_WAIT = 300  # seconds a client waits for the other seven at most (a hang guard)
PATIENT_OF_CLIENT = (0, 1, 2, 3, 4, 4, 5, 5)  # index into the Demo Rehab patients
RESEND_PATIENT = 6
OPEN_AT_ONCE_PATIENTS = (7, 8, 9)
RESENDS = 10
# One test process runs the module (`make test` distributes with --dist loadgroup), so its two
# gunicorn servers (one per database kind) are started once, not once per process.
pytestmark = pytest.mark.xdist_group("concurrency")


@pytest.fixture(scope="module")
def _servers():
    """One server per database kind for this module; all stopped at its end, pass or fail."""
    servers: dict[str, tuple[LiveGunicorn, list[int]]] = {}
    try:
        yield servers
    finally:
        for server, _ in servers.values():
            server.terminate()  # all at once: each takes seconds to wind down
        for server, _ in servers.values():
            server.stop()


@pytest.fixture
def live(database, request, tmp_path_factory, _servers):
    """(server, Demo Rehab patient ids) for the database kind, started on first use."""
    servers = _servers
    kind = database.split(":", 1)[0]
    if kind not in servers:
        folder = tmp_path_factory.mktemp(f"gunicorn-{kind.split('+')[0]}")
        url = demo_database(database, request, folder)
        with app_on(url):
            patients = db.session.scalars(
                select(Patient.id).join(Clinic).where(Clinic.name == "Demo Rehab")
            ).all()
        server = LiveGunicorn(url, folder, workers=4, preload=True).__enter__()  # stops if it fails
        servers[kind] = (server, sorted(patients))
    return servers[kind]


class Claims:
    """Which client a submission key's save counts for: the first to be answered with it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._owner: dict[str, tuple[int, int]] = {}

    def claim(self, key: str, client: int, visit_id: int) -> bool:
        with self._lock:
            owner, first_visit = self._owner.setdefault(key, (client, visit_id))
        assert first_visit == visit_id, f"key {key} answered with visits {first_visit}, {visit_id}"
        return owner == client


def _save_visits(port: int, number: int, patient_id: int, claims: Claims, rounds):
    """Log in and save until VISITS_EACH saves count for this client; return all it posted."""
    try:
        return _save_in_rounds(port, number, patient_id, claims, rounds)
    finally:
        rounds.abort()  # done (or failed): the others go on without waiting for this client


def _save_in_rounds(port: int, number: int, patient_id: int, claims: Claims, rounds):
    shared = PATIENT_OF_CLIENT.count(PATIENT_OF_CLIENT[number]) > 1
    rng = random.Random(number)
    client = Client(port)
    client.login(*THERAPIST)
    posted: dict[str, Attempt] = {}  # by submission key: a resumed draft resends the same form
    saved = []
    while len(saved) < VISITS_EACH:
        opened = open_draft(client, patient_id)
        if opened is None:
            continue
        path, page = opened
        key = hidden(page, "submission_key")
        notes = f"load client {number} form {len(posted)}"
        attempt = posted.setdefault(key, Attempt.fill_in(rng, patient_id, key, notes))
        form = attempt.form(page)
        # All eight post at once; once a client has all its saves the rest go unsynchronized.
        with contextlib.suppress(threading.BrokenBarrierError):
            rounds.wait()
        reply = client.post(path, form)
        visit_id = acknowledged_visit(reply)
        if visit_id is None:
            # Only when the other client on this patient saved the draft at the same moment.
            assert shared and reply.status == 409, f"save answered {reply.status}: {reply.body}"
            continue
        if claims.claim(key, number, visit_id):
            attempt.visit_id = visit_id
            saved.append(attempt)
    return list(posted.values()), saved, client.statuses


def test_eight_clients_saving_at_once_store_every_visit_exactly_once(live):
    server, patients = live
    claims = Claims()
    with app_on(server.database_url):
        visits_before = db.session.scalar(select(func.count(Visit.id)))
    rounds = threading.Barrier(CLIENTS, timeout=ROUND_WAIT)
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = [
            pool.submit(
                _save_visits, server.port, n, patients[PATIENT_OF_CLIENT[n]], claims, rounds
            )
            for n in range(CLIENTS)
        ]
        results = [run.result() for run in runs]
    seconds = time.monotonic() - started
    print(f"{CLIENTS * VISITS_EACH} saves in {seconds:.1f} s")  # shown with -s or -rP

    saved = [attempt for _, mine, _ in results for attempt in mine]
    posted: dict[str, list[Attempt]] = {}
    for attempts, _, _ in results:
        for attempt in attempts:
            posted.setdefault(attempt.key, []).append(attempt)
    statuses = sum((counts for _, _, counts in results), start=Counter())
    assert not [s for s in statuses if s >= 500], statuses
    assert len(saved) == CLIENTS * VISITS_EACH
    assert len({a.key for a in saved}) == len(saved)  # one key per counted save
    # The first round alone (nobody done yet) has each pair post one draft under one key at once.
    assert sum(len(attempts) > 1 for attempts in posted.values()) >= 2, len(posted)

    with app_on(server.database_url) as app:
        stored = stored_visits(set(posted))
        drafts = drafts_as_saved(set(posted))
        total = db.session.scalar(select(func.count(Visit.id)))
        audited = visits_created_in_audit()
        # Exactly the counted saves, none twice: by row, by key and by content.
        assert total - visits_before == len(saved)
        assert set(stored) == {a.key for a in saved}
        assert len({content for _, content in stored.values()}) == len(saved)
        for attempt in saved:
            visit_id, content = stored[attempt.key]
            assert visit_id == attempt.visit_id
            # Every row of the form that won under this key (shared drafts: either form).
            assert content in [a.content for a in posted[attempt.key]]
            assert drafts[attempt.key] == (visit_id, True)
            assert visit_id in audited
        assert integrity_problems() == []
        assert "Audit trail intact" in audit_verifies(app)
    log = server.log()
    assert "Traceback" not in log and "[ERROR]" not in log, log[-5000:]


def test_the_same_submission_sent_ten_times_at_once_saves_one_visit(live, database):
    server, patients = live
    client = Client(server.port)
    client.login(*THERAPIST)
    for round_number in range(3):
        patient_id = patients[RESEND_PATIENT]
        path, page = open_draft(client, patient_id)
        key = hidden(page, "submission_key")
        rng = random.Random(round_number)
        attempt = Attempt.fill_in(rng, patient_id, key, f"resent {round_number}")
        form = attempt.form(page)
        start = threading.Barrier(RESENDS)

        def send(_, form=form, path=path, start=start):
            tab = Client(server.port)
            tab.cookies = dict(client.cookies)  # the same browser session, ten requests
            start.wait()
            return tab.post(path, form)

        with ThreadPoolExecutor(RESENDS) as pool:
            replies = list(pool.map(send, range(RESENDS)))
        answers = [(r.status, _title(r.body)) for r in replies]
        assert [status for status, _ in answers] == [302] * RESENDS, answers
        visit_ids = {acknowledged_visit(reply) for reply in replies}
        assert len(visit_ids) == 1 and None not in visit_ids, visit_ids
        with app_on(server.database_url):
            stored = db.session.scalars(select(Visit.id).where(Visit.submission_key == key))
            assert stored.all() == list(visit_ids)
    assert "Traceback" not in server.log(), server.log()[-5000:]


def test_tablets_opening_a_patients_visit_at_once_share_one_draft(live, database):
    server, patients = live
    client = Client(server.port)
    client.login(*THERAPIST)
    drafts = {}
    for index in OPEN_AT_ONCE_PATIENTS:
        start = threading.Barrier(CLIENTS)
        # Each tab taps the patient page's "New visit" (a POST with the page's CSRF token).
        page = client.get(f"/patients/{patients[index]}").body
        tap = {"csrf_token": hidden(page, "csrf_token")}

        def open_visit(_, patient_id=patients[index], start=start, tap=tap):
            tab = Client(server.port)
            tab.cookies = dict(client.cookies)
            start.wait()
            return tab.post(f"/patients/{patient_id}/visits/new", tap).location

        with ThreadPoolExecutor(CLIENTS) as pool:
            drafts[patients[index]] = set(pool.map(open_visit, range(CLIENTS)))
    assert all(len(opened) == 1 for opened in drafts.values()), drafts


def _title(page: str) -> str:
    return page.split("<title>", 1)[-1].split("</title>", 1)[0] if "<title>" in page else ""


def test_a_second_tablet_on_the_same_draft_is_not_told_its_different_visit_was_saved(
    app, clinic_world, make_user
):
    """Two therapists open the patient's one visit in progress; both save, the first one wins."""
    patient_id = clinic_world["patient"].id
    second = make_user(clinic_world["home"], "therapist", email="t2@home.test")
    tablets = []
    for therapist in (clinic_world["therapist"], second):
        tablet = app.test_client()
        tablet.post("/login", data={"email": therapist.email, "password": PASSWORD})
        location = tablet.post(f"/patients/{patient_id}/visits/new").location
        tablets.append((tablet, location, tablet.get(location).get_data(as_text=True)))
    assert tablets[0][1] == tablets[1][1]  # one open draft per patient
    replies = []
    for (tablet, location, page), pain_now in zip(tablets, ("2", "8"), strict=True):
        form = {
            "visit_date": date.today().isoformat(),
            "rater": "Tess Mills",
            "muscles": ["elbow_flexors"],
            "mas-elbow_flexors-left": "1" if pain_now == "2" else "3",
            "pain_now": pain_now,
            "version": hidden(page, "version"),
            "submission_key": hidden(page, "submission_key"),
        }
        replies.append(tablet.post(location, data=form))
    assert replies[0].status_code == 302
    with app.app_context():
        stored = db.session.scalars(select(Visit.pain_now)).all()
    assert replies[1].status_code == 409 or 8 in stored, (replies[1].location, stored)
