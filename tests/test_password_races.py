"""Wrong passwords sent in parallel to 4 gunicorn workers count exactly as if sent in turn.

Issue 12, point 3: 15 wrong passwords and the right one in parallel logged in and left
`failed_logins=4` on PostgreSQL; 16 wrong ones were all verified before the lock applied.
Each check now holds the user's row from reading the lockout to writing the count, so the
audit trail (written under the same lock) gives the order the server took the attempts in;
replaying that order with the sequential rules must give the replies and the stored state.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import select, update

from spastic.accounts.password_checks import MAX_FAILURES
from spastic.extensions import db
from spastic.models import AuditEvent, Clinic, LoginSession, Patient, User, Visit, utcnow
from tests.live_gunicorn import Client, LiveGunicorn, app_on, demo_database, hidden

THERAPIST, RIGHT = "therapist@demo.test", "spastic-demo"
WRONG = 16
MEANING = "I performed and recorded this assessment"
CHECKS = (
    "login",
    "login_failed",
    "login_locked",
    "reauth_failed",
    "reauth_locked",
    "account_locked",
    "sign",
)


@pytest.fixture(scope="module")
def _servers():
    servers: dict[str, LiveGunicorn] = {}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.stop()


@pytest.fixture
def live(database, request, tmp_path_factory, _servers):
    """A 4-worker gunicorn on a demo database of the kind; the therapist's lockout cleared."""
    kind = database.split(":", 1)[0]
    if kind not in _servers:
        folder = tmp_path_factory.mktemp(f"races-{kind.split('+')[0]}")
        url = demo_database(database, request, folder)
        _servers[kind] = LiveGunicorn(url, folder, workers=4, preload=True).__enter__()
    server = _servers[kind]
    with app_on(server.database_url):
        db.session.execute(
            update(User).where(User.email == THERAPIST).values(failed_logins=0, locked_until=None)
        )
        db.session.commit()
    return server


def _at_once(functions):
    """Call each function in its own thread, all released together; their results in order."""
    start = threading.Barrier(len(functions))

    def run(function):
        start.wait()
        return function()

    with ThreadPoolExecutor(len(functions)) as pool:
        return list(pool.map(run, functions))


def _therapist_state(server):
    """(user id, failed_logins, locked?, audit id of the newest row) of the demo therapist."""
    with app_on(server.database_url):
        user = db.session.scalar(select(User).where(User.email == THERAPIST))
        newest = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        locked = user.locked_until is not None and user.locked_until > utcnow()
        return user.id, user.failed_logins, locked, newest


def _checks_since(server, user_id, after_id):
    """The therapist's password-check rows after `after_id`, in the order they were written."""
    query = (
        select(AuditEvent.action)
        .where(
            AuditEvent.id > after_id,
            AuditEvent.user_id == user_id,
            AuditEvent.action.in_(CHECKS),
        )
        .order_by(AuditEvent.id)
    )
    with app_on(server.database_url):
        return list(db.session.scalars(query))


def _login_form(client):
    return {"email": THERAPIST, "csrf_token": hidden(client.get("/login").body, "csrf_token")}


def _login_sequence(right_at: int) -> list[str]:
    """What the audit trail says when the right password is the attempt at `right_at`."""
    rows, failed, locked = [], 0, False
    for attempt in range(WRONG + 1):
        right = attempt == right_at
        if locked:
            rows.append("login_locked")
        elif right:
            rows.append("login")
            failed = 0
        else:
            rows.append("login_failed")
            failed += 1
            if failed == MAX_FAILURES:
                rows.append("account_locked")
                locked, failed = True, 0
    return rows


def test_parallel_wrong_passwords_are_each_counted(live):
    user_id, _, _, newest = _therapist_state(live)
    clients = [Client(live.port) for _ in range(MAX_FAILURES - 1)]
    forms = [_login_form(client) for client in clients]
    replies = _at_once(
        [
            lambda c=c, f=f: c.post("/login", {**f, "password": "guess-123"})
            for c, f in zip(clients, forms, strict=True)
        ]
    )
    assert [r.status for r in replies] == [200] * (MAX_FAILURES - 1)
    assert _therapist_state(live)[1:3] == (MAX_FAILURES - 1, False)
    assert _checks_since(live, user_id, newest) == ["login_failed"] * (MAX_FAILURES - 1)


def test_parallel_wrong_passwords_and_the_right_one_at_login(live):
    user_id, _, _, newest = _therapist_state(live)
    clients = [Client(live.port) for _ in range(WRONG + 1)]  # the last has the right password
    forms = [_login_form(client) for client in clients]
    passwords = ["guess-123"] * WRONG + [RIGHT]
    replies = _at_once(
        [
            lambda c=c, f=f, p=p: c.post("/login", {**f, "password": p})
            for c, f, p in zip(clients, forms, passwords, strict=True)
        ]
    )
    assert not [r for r in replies if r.status >= 500], [r.status for r in replies]
    rows = _checks_since(live, user_id, newest)
    served = [n for n in range(WRONG + 1) if _login_sequence(n) == rows]
    assert served, f"no order of the attempts gives {rows}"
    logged_in = replies[-1].status == 302
    # Logged in only if the right password came before the fifth wrong one.
    assert logged_in == (served[0] < MAX_FAILURES) == ("login" in rows)
    assert [r.status for r in replies[:-1]] == [200] * WRONG
    # Five wrong ones verified after the last right one, plus those before it: none after locking.
    before_right = served[0] if logged_in else 0
    assert rows.count("login_failed") == MAX_FAILURES + before_right
    assert _therapist_state(live)[1:3] == (0, True)
    assert live.log().count("Traceback") == 0, live.log()[-5000:]


def test_parallel_wrong_passwords_and_the_right_one_at_sign(live):
    """One logged-in tablet, 17 sign requests at once: at most five passwords are verified."""
    tablet = Client(live.port)
    tablet.login(THERAPIST, RIGHT)
    user_id, _, _, newest = _therapist_state(live)
    with app_on(live.database_url):
        patient_id = db.session.scalar(
            select(Patient.id).join(Clinic).where(Clinic.name == "Demo Rehab").limit(1)
        )
        visit = Visit(
            patient_id=patient_id,
            visit_date=date.today(),
            rater="Race Test",
            therapist_id=user_id,
            submission_key=f"race-sign-{newest}",
        )
        db.session.add(visit)
        db.session.commit()
        visit_id, version = visit.id, visit.version
    token = hidden(tablet.get(f"/visits/{visit_id}").body, "csrf_token")
    passwords = ["guess-123"] * WRONG + [RIGHT]

    def sign(password):
        tab = Client(live.port)
        tab.cookies = dict(tablet.cookies)  # the same tablet, several taps
        form = {"meaning": MEANING, "password": password, "version": version, "csrf_token": token}
        return tab.post(f"/visits/{visit_id}/sign", form)

    replies = _at_once([lambda p=p: sign(p) for p in passwords])
    answers = [(r.status, r.location) for r in replies]
    assert not [s for s, _ in answers if s >= 500], answers
    rows = _checks_since(live, user_id, newest)
    rows = [a for n, a in enumerate(rows) if a != "sign" or "sign" not in rows[:n]]  # per field
    failures = rows.count("reauth_failed")
    with app_on(live.database_url):
        status = db.session.get(Visit, visit_id).status
        open_sessions = db.session.scalars(
            select(LoginSession.id).where(
                LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
            )
        ).all()
    if status == "signed":  # the right password came before the fifth wrong one
        assert failures < MAX_FAILURES
        assert rows == ["reauth_failed"] * failures + ["sign"]
        assert answers[-1] == (302, f"/visits/{visit_id}")
        assert sorted(answers).count((422, "")) == failures
        assert _therapist_state(live)[1:3] == (0, False)
        assert open_sessions
    else:  # five wrong ones first: locked and logged out; no password verified after them
        # Requests that were already past the session check when the lock came are refused
        # unverified (reauth_locked) and sent to the login page like the rest.
        locked_after = rows.count("reauth_locked")
        assert (
            rows
            == ["reauth_failed"] * MAX_FAILURES
            + ["account_locked"]
            + ["reauth_locked"] * locked_after
        )
        assert answers[-1] == (302, "/login")
        assert sorted(answers) == [(302, "/login")] * (WRONG + 1 - 4) + [(422, "")] * 4
        assert _therapist_state(live)[1:3] == (0, True)
        assert open_sessions == []
    assert live.log().count("Traceback") == 0, live.log()[-5000:]
