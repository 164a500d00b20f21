"""Request bodies are bounded before they are parsed; a draft keeps the visit form's limits."""

import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import AuditEvent, DoseChange, Draft, Visit
from spastic.visits.forms import carry_name, mas_name, tardieu_name
from tests.test_visits import TODAY, _hidden

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _start(client, patient_id) -> tuple[int, str]:
    """Open the patient's visit form (a GET today; a POST once creating a draft is one)."""
    response = client.get(f"/patients/{patient_id}/visits/new")
    if response.status_code == 405:
        response = client.post(f"/patients/{patient_id}/visits/new")
    draft_id = int(response.location.split("/")[2])
    return draft_id, client.get(f"/drafts/{draft_id}").get_data(as_text=True)


def _dose_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DoseChange))


def _draft_payload(app, draft_id) -> dict:
    with app.app_context():
        return json.loads(db.session.get(Draft, draft_id).payload)


def _dose_form(**extra) -> dict:
    return {
        "effective_date": TODAY,
        "route": "oral",
        "daily_dose": "40",
        "unit": "mg/day",
        "submission_key": "limit-key",
        **extra,
    }


def test_a_body_over_the_limit_is_refused_unread(app, therapist, clinic_world):
    before = _dose_rows(app)
    body = urlencode(_dose_form(reason="x" * (app.config["MAX_CONTENT_LENGTH"] + 1)))
    response = therapist.post(
        f"/patients/{clinic_world['patient'].id}/doses/new", data=body, content_type=FORM
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "Too much to save" in text and "Shorten long text such as notes" in text
    assert _dose_rows(app) == before


def test_too_many_urlencoded_fields_are_refused_before_parsing(app, therapist, clinic_world):
    fields = 400_000  # 800 kB: under the body limit, but 400 times the field limit
    body = urlencode(_dose_form()) + "&x" * fields
    before = _dose_rows(app)
    started = time.perf_counter()
    response = therapist.post(
        f"/patients/{clinic_world['patient'].id}/doses/new", data=body, content_type=FORM
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert "Too much to save" in response.get_data(as_text=True)
    assert _dose_rows(app) == before
    assert elapsed < 0.5, f"{fields} fields took {elapsed:.2f} s to refuse"


def test_too_many_multipart_fields_are_refused(app, therapist, clinic_world):
    data = {**_dose_form(), **{f"x{n}": "1" for n in range(app.config["MAX_FORM_PARTS"] + 1)}}
    before = _dose_rows(app)
    response = therapist.post(
        f"/patients/{clinic_world['patient'].id}/doses/new",
        data=data,
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert _dose_rows(app) == before


def _fullest_visit(page: str) -> dict[str, list[str]]:
    """The visit form with every muscle, side, Tardieu part and side effect, and full notes."""
    data = {
        "visit_date": [TODAY],
        "rater": ["R" * 120],
        "muscles": [m.code for m in scales.MUSCLES],
        "pain_now": ["4"],
        "pain_worst": ["7"],
        "penn_frequency": ["2"],
        "penn_severity": ["1"],
        "adherence": ["as_prescribed"],
        "side_effect_other_detail": ["ü" * 200],
        "notes": ["漢" * 5000],  # 9 bytes a character once encoded
        "version": [_hidden(page, "version")],
        "submission_key": [_hidden(page, "submission_key")],
        "csrf_token": ["x" * 120],
    }
    for muscle in scales.MUSCLES:
        for side in scales.SIDES:
            data[mas_name(muscle.code, side)] = ["1+"]
            data[carry_name(muscle.code, side)] = ["pending"]
            for part, value in (("r1", "45"), ("r2", "120"), ("quality", "2"), ("velocity", "V3")):
                data[tardieu_name(muscle.code, side, part)] = [value]
    data.update({f"se-{code}": ["mild"] for code in scales.SIDE_EFFECTS})
    return data


def test_the_fullest_visit_form_fits_the_limits_comfortably(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    data = _fullest_visit(page)
    body = urlencode(data, doseq=True)
    assert body.count("&") + 1 < app.config["MAX_FORM_PARTS"] / 4
    assert len(body) < app.config["MAX_CONTENT_LENGTH"] / 4
    assert len(body) < app.config["MAX_FORM_MEMORY_SIZE"] / 4
    saved = therapist.post(
        f"/drafts/{draft_id}/autosave", data=body, content_type=FORM, headers=_json()
    )
    assert saved.get_json()["saved"] is True
    data["version"] = [str(saved.get_json()["version"])]
    response = therapist.post(
        f"/drafts/{draft_id}", data=urlencode(data, doseq=True), content_type=FORM
    )
    assert response.status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, int(response.location.split("/")[2]))
        assert len(visit.mas_scores) == 2 * len(scales.MUSCLES)
        assert visit.notes == "漢" * 5000


def _json() -> dict:
    return {"Accept": "application/json"}


def test_autosave_refuses_notes_over_the_limit_next_to_the_field(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    first = therapist.post(
        f"/drafts/{draft_id}/autosave",
        data={"notes": "Walked 20 m.", "version": _hidden(page, "version")},
        headers=_json(),
    ).get_json()
    audits = _autosave_audits(app)
    response = therapist.post(
        f"/drafts/{draft_id}/autosave",
        data={"notes": "n" * 6000, "rater": "Tess", "version": str(first["version"])},
        headers=_json(),
    )
    body = response.get_json()
    assert response.status_code == 422
    assert body["saved"] is False
    assert body["field_errors"] == {
        "notes": "Notes can hold at most 5000 characters; this has 6000. Shorten it to save."
    }
    assert "at most 5000 characters" in body["error"]
    stored = _draft_payload(app, draft_id)
    assert stored["notes"] == ["Walked 20 m."]
    assert "rater" not in stored  # nothing of the refused form is kept
    assert _autosave_audits(app) == audits


def test_autosave_refuses_every_length_limit_of_the_visit_form(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    response = therapist.post(
        f"/drafts/{draft_id}/autosave",
        data={
            "rater": "r" * 121,
            "side_effect_other_detail": "d" * 201,
            "mas-elbow_flexors-left": "1" * 5000,
            "z" * 5000: "1",
            "version": _hidden(page, "version"),
        },
        headers=_json(),
    )
    problems = response.get_json()["field_errors"]
    assert response.status_code == 422
    assert problems["rater"].startswith("Rater can hold at most 120 characters; this has 121")
    assert problems["side_effect_other_detail"].startswith("Other side effect can hold at most 200")
    assert problems["mas-elbow_flexors-left"] == "This answer is not one the form offers."
    assert problems["z" * 100] == "This answer is not one the form offers."
    assert max(len(v) for vs in _draft_payload(app, draft_id).values() for v in vs) <= 5000


def test_submit_with_notes_over_the_limit_keeps_the_draft_within_it(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    data = {
        "visit_date": TODAY,
        "rater": "Tess",
        "notes": "n" * 6000,
        "version": _hidden(page, "version"),
        "submission_key": _hidden(page, "submission_key"),
    }
    response = therapist.post(f"/drafts/{draft_id}", data=data)
    assert response.status_code == 422
    assert "Field cannot be longer than 5000 characters" in response.get_data(as_text=True)
    assert "n" * 6000 in response.get_data(as_text=True)  # the input is kept on the page
    assert len("".join(_draft_payload(app, draft_id).get("notes", []))) <= 5000


def test_autosave_body_over_the_limit_answers_json(app, therapist, clinic_world):
    draft_id, _page = _start(therapist, clinic_world["patient"].id)
    body = urlencode({"notes": "n" * (app.config["MAX_CONTENT_LENGTH"] + 1), "version": "1"})
    response = therapist.post(
        f"/drafts/{draft_id}/autosave", data=body, content_type=FORM, headers=_json()
    )
    assert response.status_code == 413
    assert response.get_json()["saved"] is False
    assert "nothing was saved" in response.get_json()["error"]
    assert (
        "notes" not in _draft_payload(app, draft_id)
        or len(_draft_payload(app, draft_id)["notes"][0]) <= 5000
    )


def _autosave_audits(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "autosave")
        )
