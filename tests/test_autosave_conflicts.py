"""Autosave: a page's own earlier save is never a conflict; someone else's always is."""

import json
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from spastic.extensions import db
from spastic.models import Clinic, Draft
from tests.conftest import PASSWORD
from tests.test_visits import _start, _visit_data


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _autosave(client, draft_id, data):
    return client.post(f"/drafts/{draft_id}/autosave", data=data)


def _stored(app, draft_id) -> dict:
    with app.app_context():
        return json.loads(db.session.get(Draft, draft_id).payload)


def _first_save(therapist, clinic_world, session="page-1"):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    data = _visit_data(page, edit_session=session)
    saved = _autosave(therapist, draft_id, data).get_json()
    assert saved["saved"] is True and saved["version"] == 2
    return draft_id, data


def test_a_replay_from_the_same_page_with_newer_words_is_accepted(app, therapist, clinic_world):
    """The answer to a save was lost (offline, a reload): the page sends its base version again
    with more words. Same person, same page: accepted, no conflict, the newest words stored."""
    draft_id, data = _first_save(therapist, clinic_world)
    replay = _autosave(therapist, draft_id, {**data, "notes": "Walked 20 m with frame, then 30."})
    assert replay.status_code == 200, replay.get_json()
    assert replay.get_json()["version"] == 3
    assert _stored(app, draft_id)["notes"] == ["Walked 20 m with frame, then 30."]


def test_an_identical_replay_is_accepted_even_from_another_page(app, therapist, clinic_world):
    draft_id, data = _first_save(therapist, clinic_world)
    again = _autosave(therapist, draft_id, {**data, "edit_session": "page-2"})
    assert again.status_code == 200
    assert again.get_json()["saved"] is True


def test_the_same_person_in_another_tab_with_other_words_is_asked_not_overwritten(
    app, therapist, clinic_world
):
    """Decided: two pages of the same person with different answers are a conflict (taking
    either silently loses the other's words), but it says "you, in another tab", never the
    person's own name as if someone else had saved."""
    draft_id, data = _first_save(therapist, clinic_world)
    other_tab = {**data, "edit_session": "page-2", "pain_now": "9"}
    response = _autosave(therapist, draft_id, other_tab)
    assert response.status_code == 409
    body = response.get_json()
    assert body["own"] is True
    assert body["message"].startswith("You saved other answers in another tab or window at ")
    name = clinic_world["therapist"].name
    assert name not in body["message"]
    assert {"label": "Pain now", "theirs": "4", "yours": "9"} in body["changes"]
    assert _stored(app, draft_id)["pain_now"] == ["4"]  # both kept: theirs here, yours on the page
    # "Keep my version": the page sends the version the conflict named.
    kept = _autosave(therapist, draft_id, {**other_tab, "version": body["version"]})
    assert kept.status_code == 200
    assert _stored(app, draft_id)["pain_now"] == ["9"]


def test_another_person_saving_in_between_is_a_conflict(
    app, client, therapist, clinic_world, make_user
):
    with app.app_context():
        home = db.session.get(Clinic, clinic_world["home"].id)
    colleague = make_user(home, "therapist", email="bo@home.test", name="Bo Lind")
    draft_id, data = _first_save(therapist, clinic_world)
    second = app.test_client()
    second.post("/login", data={"email": colleague.email, "password": PASSWORD})
    theirs = _autosave(second, draft_id, {**data, "edit_session": "bo-1", "version": "2"})
    assert theirs.status_code == 200, theirs.get_json()
    # The first page, still at version 2, saves on: refused, Bo's version kept.
    mine = _autosave(therapist, draft_id, {**data, "pain_now": "8"})
    assert mine.status_code == 409
    body = mine.get_json()
    assert body["own"] is False
    assert body["message"].startswith("Bo Lind saved this visit at ")
    assert _stored(app, draft_id)["pain_now"] == ["4"]


def test_a_page_without_an_edit_session_is_judged_by_its_version(app, therapist, clinic_world):
    draft_id, data = _first_save(therapist, clinic_world)
    data.pop("edit_session")
    stale = _autosave(therapist, draft_id, {**data, "pain_now": "9"})
    assert stale.status_code == 409
    assert _stored(app, draft_id)["pain_now"] == ["4"]


def test_the_save_status_says_a_draft_in_the_clinic_time(app, therapist, clinic_world):
    with app.app_context():
        home = db.session.get(Clinic, clinic_world["home"].id)
        home.timezone = "Pacific/Auckland"
        db.session.commit()
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = _autosave(therapist, draft_id, _visit_data(page)).get_json()
    with app.app_context():
        updated = db.session.get(Draft, draft_id).updated_at
    local = updated.astimezone(ZoneInfo("Pacific/Auckland")).strftime("%H:%M")
    assert saved["status"] == f"Draft saved {local} (not yet a visit)"
    reloaded = therapist.get(f"/drafts/{draft_id}").get_data(as_text=True)
    assert f"Draft saved {local} (not yet a visit)" in reloaded
    assert "Saved at" not in reloaded


def test_a_pending_save_cookie_of_a_save_already_stored_does_not_wait(app, therapist, clinic_world):
    """The page left with a save based on version 1; it arrived (version 2): shown at once."""
    draft_id, _ = _first_save(therapist, clinic_world)
    therapist.set_cookie("spastic-pending-save", f"{draft_id}.1", path=f"/drafts/{draft_id}")
    page = therapist.get(f"/drafts/{draft_id}").get_data(as_text=True)
    assert 'name="version" value="2"' in page


def test_a_reload_waits_for_the_save_its_page_sent_as_it_left(app, therapist, clinic_world):
    """The browser asks for the reloaded form while the old page's last save is still on its
    way: the form is shown once that save is stored, with its words, not the draft before it."""
    app.config["DRAFT_PENDING_WAIT_SECONDS"] = 60  # bounded, and no test depends on its length
    draft_id, data = _first_save(therapist, clinic_world)
    therapist.set_cookie("spastic-pending-save", f"{draft_id}.2", path=f"/drafts/{draft_id}")
    shown = {}

    def reload():
        shown["page"] = therapist.get(f"/drafts/{draft_id}").get_data(as_text=True)

    reader = threading.Thread(target=reload)
    reader.start()
    time.sleep(0.3)  # lets the reload read the draft first; the assertion does not time anything
    leaving = app.test_client()
    leaving.post("/login", data={"email": clinic_world["therapist"].email, "password": PASSWORD})
    saved = _autosave(leaving, draft_id, {**data, "notes": "Last words before the reload."})
    assert saved.status_code == 200, saved.get_json()
    reader.join()
    assert "Last words before the reload." in shown["page"]
    assert 'name="version" value="3"' in shown["page"]
