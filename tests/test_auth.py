"""Login, logout, lockout and server-side session ending."""

from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import select

from spastic.accounts import passwords
from spastic.extensions import db
from spastic.models import AuditEvent, LoginSession, User, utcnow
from tests.conftest import PASSWORD


def _copy_cookie(source, target):
    cookie = source.get_cookie("spastic_session")
    target.set_cookie("spastic_session", cookie.value)


def test_login_and_logout(client, auth, clinic_world):
    response = auth.login(clinic_world["therapist"])
    assert response.status_code == 302
    page = client.get("/patients")
    assert b"NGUYEN, Linh" in page.data
    auth.logout()
    assert client.get("/patients").status_code == 302


def test_password_is_stored_as_argon2id(app, clinic_world):
    with app.app_context():
        stored = db.session.get(User, clinic_world["therapist"].id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_new_passwords_are_hashed_at_the_librarys_parameters():
    """Fixture users and the browser tests' demo accounts hash cheaply; the app never does."""
    stored = passwords.hash_password("a-long-enough-password-1")
    assert not PasswordHasher().check_needs_rehash(stored)
    assert passwords.verify_password(stored, "a-long-enough-password-1")
    assert not PasswordHasher().check_needs_rehash(passwords._DUMMY_HASH)


def test_same_answer_for_unknown_account_and_wrong_password(client, clinic_world):
    unknown = client.post("/login", data={"email": "nobody@x.test", "password": "whatever-123"})
    wrong = client.post("/login", data={"email": "t@home.test", "password": "whatever-123"})
    assert unknown.status_code == wrong.status_code == 200
    assert b"Email or password is not right" in unknown.data
    assert unknown.data.replace(b"nobody@x.test", b"") == wrong.data.replace(b"t@home.test", b"")


def test_lockout_after_five_failures(app, client, clinic_world):
    for _ in range(5):
        client.post("/login", data={"email": "t@home.test", "password": "wrong-password-1"})
    response = client.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    assert b"Email or password is not right" in response.data
    with app.app_context():
        user = db.session.get(User, clinic_world["therapist"].id)
        assert user.locked_until > utcnow() + timedelta(minutes=14)
        user.locked_until = utcnow() - timedelta(seconds=1)  # the 15 minutes pass
        db.session.commit()
    assert (
        client.post("/login", data={"email": "t@home.test", "password": PASSWORD}).status_code
        == 302
    )


def test_copied_cookie_stops_working_after_logout(app, auth, client, clinic_world):
    auth.login(clinic_world["therapist"])
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert thief.get("/patients").status_code == 200
    auth.logout()
    assert thief.get("/patients").status_code == 302
    with app.app_context():
        row = db.session.scalar(select(LoginSession))
        assert row.end_reason == "logout"


def test_disabling_a_user_ends_their_sessions(app, client, clinic_world):
    therapist = app.test_client()
    therapist.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    assert therapist.get("/patients").status_code == 200
    client.post("/login", data={"email": "a@home.test", "password": PASSWORD})
    client.post(f"/admin/users/{clinic_world['therapist'].id}/active")
    assert therapist.get("/patients").status_code == 302
    login = therapist.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    assert b"Email or password is not right" in login.data


def test_password_change_ends_other_sessions(app, client, clinic_world):
    tablet = app.test_client()
    tablet.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    client.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    new = "a-much-longer-passphrase"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert response.status_code == 302
    assert client.get("/patients").status_code == 200  # this device stays logged in
    assert tablet.get("/patients").status_code == 302
    assert tablet.post("/login", data={"email": "t@home.test", "password": new}).status_code == 302


def test_password_change_rejects_short_and_wrong_current(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    short = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "short", "confirm": "short"},
    )
    assert b"Use at least 12 characters." in short.data
    wrong = client.post(
        "/account/password",
        data={"current_password": "nope", "new_password": "x" * 14, "confirm": "x" * 14},
    )
    assert b"That is not your password (4 more wrong tries lock the account" in wrong.data


def test_idle_session_times_out(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    with app.app_context():
        row = db.session.scalar(select(LoginSession))
        row.last_seen_at = utcnow() - timedelta(minutes=31)
        db.session.commit()
    assert client.get("/patients").status_code == 302


def test_logins_and_failures_are_audited(app, client, auth, clinic_world):
    client.post("/login", data={"email": "t@home.test", "password": "wrong-password-1"})
    auth.login(clinic_world["therapist"])
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["login_failed", "login"]


def test_open_redirect_is_refused(client, clinic_world):
    response = client.post(
        "/login?next=//evil.example/",
        data={"email": "t@home.test", "password": PASSWORD},
    )
    assert response.location == "/"
