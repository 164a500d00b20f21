"""Every password check (login, sign, amend, change password) counts against one lockout.

Issue 12, points 2 and 9: re-authentication was a password oracle (no count, no limit, no
audit row). The parallel versions of these checks, against gunicorn workers, are in
tests/test_password_races.py.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from spastic.extensions import db
from spastic.models import AuditEvent, LoginSession, User, Visit, utcnow
from tests.conftest import PASSWORD

MEANING = "I reviewed and approve this record"  # not the default, so a kept choice shows
CHECK_ACTIONS = ("login_failed", "login_locked", "reauth_failed", "reauth_locked", "account_locked")


@pytest.fixture
def unsigned_visit(app, clinic_world):
    """An unsigned visit of the home clinic's patient (id), written as the visit form would."""
    with app.app_context():
        visit = Visit(
            patient_id=clinic_world["patient"].id,
            visit_date=date.today(),
            rater="Tess Mills",
            therapist_id=clinic_world["therapist"].id,
            submission_key="password-checks-1",
            notes="Walked 20 m with frame.",
        )
        db.session.add(visit)
        db.session.commit()
        return visit.id


@pytest.fixture
def tablet(app, clinic_world):
    """The therapist's logged-in tablet."""
    client = app.test_client()
    assert _login(client, clinic_world["therapist"].email, PASSWORD).status_code == 302
    return client


def _login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def _sign(client, visit_id, password):
    data = {"meaning": MEANING, "password": password, "version": "1"}
    return client.post(f"/visits/{visit_id}/sign", data=data)


def _lockout_state(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.failed_logins, user.locked_until


def _checks_audited(app, user_id):
    """(action, entity, entity id, patient id, field, new value) of the password-check rows."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id, AuditEvent.action.in_(CHECK_ACTIONS))
        .order_by(AuditEvent.id)
    )
    with app.app_context():
        return [
            (e.action, e.entity, e.entity_id, e.patient_id, e.field, e.new_value)
            for e in db.session.scalars(query)
        ]


def _visit_status(app, visit_id):
    with app.app_context():
        return db.session.get(Visit, visit_id).status


def test_wrong_passwords_at_sign_lock_the_account_and_end_its_sessions(
    app, tablet, clinic_world, unsigned_visit
):
    therapist, patient_id = clinic_world["therapist"], clinic_world["patient"].id
    other_device = app.test_client()
    _login(other_device, therapist.email, PASSWORD)
    for left in (4, 3, 2, 1):
        wrong = _sign(tablet, unsigned_visit, "guess-123")
        page = wrong.get_data(as_text=True)
        assert wrong.status_code == 422
        try_word = "try locks" if left == 1 else "tries lock"
        assert f"That is not your password ({left} more wrong {try_word} the account" in page
        assert "The visit is not signed." in page
        assert f'value="{MEANING}" checked' in page  # the chosen meaning is kept
    assert _lockout_state(app, therapist.id) == (4, None)

    fifth = _sign(tablet, unsigned_visit, "guess-123")
    assert fifth.status_code == 302 and fifth.location.startswith("/login")
    login_page = tablet.get("/login").get_data(as_text=True)
    assert "Too many wrong passwords: the account is locked until" in login_page
    assert "logged out on every device" in login_page
    failed, locked_until = _lockout_state(app, therapist.id)
    assert failed == 0 and locked_until > utcnow() + timedelta(minutes=14)
    assert _visit_status(app, unsigned_visit) == "draft"
    # Neither device is logged in any more, and the right password does not log in while locked.
    assert tablet.get("/patients").status_code == 302
    assert other_device.get("/patients").status_code == 302
    with app.app_context():
        live = select(LoginSession).where(LoginSession.ended_at.is_(None))
        assert db.session.scalars(live).all() == []
    assert "Email or password is not right" in _login(tablet, therapist.email, PASSWORD).get_data(
        as_text=True
    )

    failure = ("reauth_failed", "visit", unsigned_visit, patient_id, "purpose", "sign")
    assert _checks_audited(app, therapist.id) == [failure] * 5 + [
        ("account_locked", "user", therapist.id, None, "locked_until", locked_until.isoformat()),
        ("login_locked", "user", therapist.id, None, None, None),
    ]


def test_a_locked_account_cannot_sign_with_the_right_password(
    app, tablet, clinic_world, unsigned_visit
):
    """Locked at the login form by someone else: the tablet stays logged in but cannot sign."""
    therapist = clinic_world["therapist"]
    attacker = app.test_client()
    for _ in range(5):
        _login(attacker, therapist.email, "guess-123")
    refused = _sign(tablet, unsigned_visit, PASSWORD)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "The account is locked after too many wrong passwords, until" in page
    assert f'value="{MEANING}" checked' in page
    assert _visit_status(app, unsigned_visit) == "draft"
    assert tablet.get("/patients").status_code == 200  # a lockout from the login form ends none
    assert _checks_audited(app, therapist.id)[-1] == (
        "reauth_locked",
        "visit",
        unsigned_visit,
        clinic_world["patient"].id,
        "purpose",
        "sign",
    )
    assert _lockout_state(app, therapist.id)[0] == 0  # a refused check is not counted again


def test_login_and_reauthentication_share_one_count(app, tablet, clinic_world, unsigned_visit):
    therapist = clinic_world["therapist"]
    attacker = app.test_client()
    for _ in range(3):
        _login(attacker, therapist.email, "guess-123")
    wrong = tablet.post(
        "/account/password",
        data={"current_password": "guess-123", "new_password": "x" * 14, "confirm": "x" * 14},
    )
    page = wrong.get_data(as_text=True)
    assert "That is not your password (1 more wrong try locks the account" in page
    assert "Your password is not changed." in page
    assert _lockout_state(app, therapist.id) == (4, None)
    assert _checks_audited(app, therapist.id)[-1] == (
        "reauth_failed",
        "user",
        therapist.id,
        None,
        "purpose",
        "password_change",
    )
    # The right password, at sign, starts the count again, as a right login does.
    assert _sign(tablet, unsigned_visit, PASSWORD).status_code == 302
    assert _lockout_state(app, therapist.id) == (0, None)
    assert _visit_status(app, unsigned_visit) == "signed"


def test_a_wrong_password_at_amend_is_counted_and_audited_and_changes_nothing(
    app, tablet, clinic_world, unsigned_visit
):
    assert _sign(tablet, unsigned_visit, PASSWORD).status_code == 302
    data = {
        "visit_date": date.today().isoformat(),
        "rater": "Tess Mills",
        "muscles": ["elbow_flexors"],
        "mas-elbow_flexors-left": "2",
        "reason": "Transcription error",
        "password": "guess-123",
        "submission_key": "amend-password-1",
    }
    response = tablet.post(f"/visits/{unsigned_visit}/amend", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "That is not your password (4 more wrong tries lock" in page
    assert "Nothing was changed." in page
    assert "Transcription error" in page  # the reason is kept
    with app.app_context():
        assert db.session.get(Visit, unsigned_visit).amendments == []
    therapist = clinic_world["therapist"]
    assert _lockout_state(app, therapist.id) == (1, None)
    assert _checks_audited(app, therapist.id) == [
        ("reauth_failed", "visit", unsigned_visit, clinic_world["patient"].id, "purpose", "amend")
    ]


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "REAUTH_RATE_LIMIT": "3 per minute"}]
)
def test_reauthentication_is_rate_limited_per_user_across_forms(
    app, tablet, clinic_world, make_user, unsigned_visit
):
    therapist = clinic_world["therapist"]
    assert _sign(tablet, unsigned_visit, "guess-123").status_code == 422
    password_form = {"current_password": "guess-123", "new_password": "x" * 14, "confirm": "x" * 14}
    assert tablet.post("/account/password", data=password_form).status_code == 200
    assert _sign(tablet, unsigned_visit, "guess-123").status_code == 422
    limited = tablet.post(
        f"/visits/{unsigned_visit}/amend", data={"reason": "x", "password": "guess-123"}
    )
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)
    assert _lockout_state(app, therapist.id) == (3, None)  # the fourth was not even checked
    # Per user: a colleague at the same address still signs.
    colleague = make_user(clinic_world["home"], "therapist", email="t2@home.test")
    other = app.test_client()
    _login(other, colleague.email, PASSWORD)
    assert _sign(other, unsigned_visit, PASSWORD).status_code == 302
    assert _visit_status(app, unsigned_visit) == "signed"
