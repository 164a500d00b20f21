"""A form comes back with its input only when this session's own token has expired.

A missing, malformed, forged or other-session token is what a page on another origin sends:
it gets a plain 400, with nothing of the posted input shown back and nothing written.
"""

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import DoseChange, Draft
from tests.conftest import PASSWORD

SECRET = "test-secret-key-that-is-long-enough-123"  # the one tests/conftest.py sets


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


class _TwoHoursAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 7200


def _signed(raw: str, signer=TimestampSigner) -> str:
    """Sign a session's raw CSRF value as Flask-WTF does, at the signer's time."""
    return URLSafeTimedSerializer(SECRET, salt="wtf-csrf-token", signer=signer).dumps(raw)


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def _logged_in(app, email="t@home.test"):
    client = app.test_client()
    token = _hidden(client.get("/login").get_data(as_text=True), "csrf_token")
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    return client


def _raw_token(client) -> str:
    with client.session_transaction() as session:
        return session["csrf_token"]


def _dose_post(client, patient_id, **extra):
    data = {
        "effective_date": time.strftime("%Y-%m-%d"),
        "route": "oral",
        "daily_dose": "200",
        "unit": "mg/day",
        "schedule": "forged schedule",
        "reason": "forged reason",
        "submission_key": "forged-key",
        **extra,
    }
    return client.post(f"/patients/{patient_id}/doses/new", data=data)


def _dose_rows(app, patient_id) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(DoseChange).where(DoseChange.patient_id == patient_id)
        )


def _other_session_token(app) -> str:
    other = _logged_in(app, "t@other.test")
    other.get("/patients")
    return _signed(_raw_token(other))


TOKENS = {
    "missing": lambda app, client: None,
    "empty": lambda app, client: "",
    "garbage": lambda app, client: "not-a-token",
    "forged signature": lambda app, client: _signed(_raw_token(client))[:-4] + "AAAA",
    "other session": lambda app, client: _other_session_token(app),
    "other session, expired": lambda app, client: _signed("f" * 40, _TwoHoursAgo),
    "signed with another key": lambda app, client: URLSafeTimedSerializer(
        "another-key", salt="wtf-csrf-token"
    ).dumps(_raw_token(client)),
}


@pytest.mark.parametrize("kind", TOKENS)
def test_a_foreign_token_is_refused_with_nothing_prefilled(app, clinic_world, kind):
    client = _logged_in(app)
    patient_id = clinic_world["patient"].id
    client.get(f"/patients/{patient_id}/doses/new")
    token = TOKENS[kind](app, client)
    before = _dose_rows(app, patient_id)
    response = _dose_post(client, patient_id, **({} if token is None else {"csrf_token": token}))
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "could not be checked" in text
    assert "forged" not in text and 'value="200"' not in text
    assert 'name="daily_dose"' not in text  # no form at all, let alone a pre-filled one
    assert _dose_rows(app, patient_id) == before


def test_this_sessions_expired_token_shows_the_input_again(app, clinic_world):
    client = _logged_in(app)
    patient_id = clinic_world["patient"].id
    client.get(f"/patients/{patient_id}/doses/new")
    before = _dose_rows(app, patient_id)
    expired = _signed(_raw_token(client), _TwoHoursAgo)
    response = _dose_post(client, patient_id, csrf_token=expired, schedule="5 mg at night")
    text = response.get_data(as_text=True)
    assert "security check expired" in text
    assert 'value="200"' in text and "5 mg at night" in text
    fresh = _hidden(text, "csrf_token")
    assert fresh != expired
    assert _dose_rows(app, patient_id) == before
    saved = _dose_post(client, patient_id, csrf_token=fresh, daily_dose="20")
    assert saved.status_code == 302
    assert _dose_rows(app, patient_id) == before + 1


def test_patient_edit_with_a_foreign_token_is_refused(app, clinic_world):
    client = _logged_in(app)
    patient_id = clinic_world["patient"].id
    response = client.post(
        f"/patients/{patient_id}/edit",
        data={"mrn": "MRN-1", "family_name": "Nguyen", "referring_email": "evil@example.test"},
    )
    assert response.status_code == 400
    assert "evil@example.test" not in response.get_data(as_text=True)


def _autosave(client, draft_id, token):
    data = {"notes": "forged note", "version": "1"}
    if token is not None:
        data["csrf_token"] = token
    return client.post(
        f"/drafts/{draft_id}/autosave", data=data, headers={"Accept": "application/json"}
    )


def _draft(app, client, patient_id) -> int:
    token = _hidden(client.get(f"/patients/{patient_id}").get_data(as_text=True), "csrf_token")
    response = client.get(f"/patients/{patient_id}/visits/new")
    if response.status_code == 405:  # creating a draft may be a POST
        response = client.post(f"/patients/{patient_id}/visits/new", data={"csrf_token": token})
    return int(response.location.split("/")[2])


@pytest.mark.parametrize("kind", ["missing", "garbage", "other session, expired"])
def test_autosave_with_a_foreign_token_gets_no_fresh_token(app, clinic_world, kind):
    client = _logged_in(app)
    draft_id = _draft(app, client, clinic_world["patient"].id)
    response = _autosave(client, draft_id, TOKENS[kind](app, client))
    assert response.status_code == 400
    body = response.get_json()
    assert body["saved"] is False and not body.get("csrf_expired")
    assert "csrf_token" not in body
    with app.app_context():
        assert "forged note" not in db.session.get(Draft, draft_id).payload


def test_autosave_with_its_own_expired_token_gets_a_fresh_one(app, clinic_world):
    client = _logged_in(app)
    draft_id = _draft(app, client, clinic_world["patient"].id)
    response = _autosave(client, draft_id, _signed(_raw_token(client), _TwoHoursAgo))
    body = response.get_json()
    assert response.status_code == 400
    assert body["csrf_expired"] is True and body["csrf_token"]
    assert _autosave(client, draft_id, body["csrf_token"]).get_json()["saved"] is True
