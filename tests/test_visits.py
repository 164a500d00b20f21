"""Visit capture on the server: drafts, validation, once-only saving, sign and amend."""

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import (
    Amendment,
    AuditEvent,
    Draft,
    MasScore,
    Patient,
    SideEffect,
    User,
    Visit,
)
from spastic.visits import signing
from spastic.visits.forms import VisitInput
from tests.conftest import PASSWORD
from tests.test_regimen import twice_at_once

TODAY = date.today().isoformat()


def _start(client, patient_id, **form):
    response = client.post(f"/patients/{patient_id}/visits/new", data=form)
    assert response.status_code == 302
    draft_id = int(response.location.split("/")[2])
    page = client.get(response.location).get_data(as_text=True)
    return draft_id, page


def _hidden(page, name):
    found = re.search(rf'name="{name}" (?:type="hidden" )?value="([^"]*)"', page)
    return found.group(1) if found else None


def _visit_data(page, **extra):
    data = {
        "visit_date": TODAY,
        "rater": "Tess Mills",
        "muscles": ["elbow_flexors", "knee_flexors"],
        "mas-elbow_flexors-left": "1+",
        "mas-elbow_flexors-right": "2",
        "mas-knee_flexors-left": "3",
        "pain_now": "4",
        "pain_worst": "7",
        "penn_frequency": "2",
        "penn_severity": "1",
        "se-drowsiness": "mild",
        "se-nausea": "none",
        "adherence": "as_prescribed",
        "notes": "Walked 20 m with frame.",
        "version": _hidden(page, "version"),
        "submission_key": _hidden(page, "submission_key"),
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Visit, MasScore, SideEffect, Amendment)
        )


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def test_form_has_the_contracted_radio_groups(therapist, clinic_world):
    _, page = _start(therapist, clinic_world["patient"].id)
    assert "<legend>Elbow flexors - Left</legend>" in page
    assert "<legend>Ankle plantarflexors (gastrocnemius-soleus) - Right</legend>" in page
    group = page.split("<legend>Elbow flexors - Left</legend>", 1)[1].split("</fieldset>", 1)[0]
    labels = re.findall(r'type="radio" value="[^"]*"[^>]*><span>([^<]*)</span>', group)
    assert labels == ["0", "1", "1+", "2", "3", "4"]
    pain = page.split("<legend>Pain now</legend>", 1)[1].split("</fieldset>", 1)[0]
    assert re.findall(r"<span>([^<]*)</span>", pain) == [str(n) for n in range(11)]
    assert "30 mg/day" in page  # the dose in force is shown, not re-typed


def test_reload_resumes_the_same_draft(therapist, clinic_world):
    first, _ = _start(therapist, clinic_world["patient"].id)
    second, _ = _start(therapist, clinic_world["patient"].id)
    assert first == second


def test_autosave_keeps_input_and_detects_a_concurrent_edit(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    data = _visit_data(page)
    saved = therapist.post(f"/drafts/{draft_id}/autosave", data=data).get_json()
    assert saved["saved"] is True and saved["version"] == 2
    reloaded = therapist.get(f"/drafts/{draft_id}").get_data(as_text=True)
    assert re.search(r'<input checked id="mas-elbow_flexors-left-\d"[^>]*value="1\+"', reloaded)
    assert "Walked 20 m with frame." in reloaded
    # A second person still holding version 1 saves: refused, shown what changed.
    stale = therapist.post(
        f"/drafts/{draft_id}/autosave", data={**data, "version": "1", "pain_now": "9"}
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert {"label": "Pain now", "theirs": "4", "yours": "9"} in body["changes"]
    with app.app_context():
        stored = json.loads(db.session.get(Draft, draft_id).payload)
    assert stored["pain_now"] == ["4"]


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"mas-elbow_flexors-left": "5"}, "mas-elbow_flexors-left", "Choose a grade from 0, 1, 1+"),
        ({"mas-elbow_flexors-left": "1.5"}, "mas-elbow_flexors-left", "Choose a grade from 0"),
        ({"pain_now": "11"}, "pain_now", "Pain is rated from 0"),
        ({"pain_worst": "-1"}, "pain_worst", "Pain is rated from 0"),
        ({"penn_frequency": "0", "penn_severity": "2"}, "penn_severity", "only when spasms occur"),
        ({"penn_frequency": None, "penn_severity": "2"}, "penn_severity", "only when spasms occur"),
        ({"visit_date": (date.today() + timedelta(days=1)).isoformat()}, "visit_date", "future"),
        ({"se-drowsiness": "extreme"}, "se-drowsiness", "none, mild, moderate or severe"),
        ({"muscles": ["elbow_flexors", "tongue"]}, "muscles", "Choose only from the options"),
    ],
)
def test_bad_input_is_refused_next_to_the_field(
    app, therapist, clinic_world, extra, field, message
):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    before = _counts(app)
    response = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page, **extra))
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    error = text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert "Walked 20 m with frame." in text  # the rest of the input is kept
    assert _counts(app) == before


def test_visit_for_another_clinics_patient_is_refused(app, clinic_world):
    other = app.test_client()
    other.post("/login", data={"email": "t@other.test", "password": PASSWORD})
    assert other.post(f"/patients/{clinic_world['patient'].id}/visits/new").status_code == 404
    own = app.test_client()
    own.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    draft_id, page = _start(own, clinic_world["patient"].id)
    before = _counts(app)
    assert other.post(f"/drafts/{draft_id}", data=_visit_data(page)).status_code == 404
    assert other.post(f"/drafts/{draft_id}/autosave", data=_visit_data(page)).status_code == 404
    assert _counts(app) == before


def test_save_stores_grades_not_assessed_as_null_and_once(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    data = _visit_data(page)
    first = therapist.post(f"/drafts/{draft_id}", data=data)
    again = therapist.post(f"/drafts/{draft_id}", data=data)
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
        assert grades == {
            ("elbow_flexors", "left"): "1+",
            ("elbow_flexors", "right"): "2",
            ("knee_flexors", "left"): "3",
            ("knee_flexors", "right"): None,
        }
        assert (visit.pain_now, visit.pain_worst, visit.penn_frequency) == (4, 7, 2)
        assert {(e.code, e.severity) for e in visit.side_effects} == {
            ("drowsiness", "mild"),
            ("nausea", "none"),
        }
        assert visit.status == "draft"
        patient = db.session.get(Patient, clinic_world["patient"].id)
        assert json.loads(patient.usual_muscles) == ["elbow_flexors", "knee_flexors"]
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
        created = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.entity == "visit")
        ).all()
        assert ("mas:elbow_flexors:left", None, "1+") in {
            (e.field, e.old_value, e.new_value) for e in created
        }


def _save_and_sign(client, patient_id, **extra):
    draft_id, page = _start(client, patient_id)
    response = client.post(f"/drafts/{draft_id}", data=_visit_data(page, **extra))
    visit_id = int(response.location.split("/")[2])
    meaning = "I performed and recorded this assessment"
    signed = client.post(
        f"/visits/{visit_id}/sign", data={"meaning": meaning, "password": PASSWORD, "version": 1}
    )
    assert signed.status_code == 302
    return visit_id


def test_sign_needs_the_password_and_freezes_the_visit(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    visit_id = int(
        therapist.post(f"/drafts/{draft_id}", data=_visit_data(page)).location.split("/")[2]
    )
    meaning = "I performed and recorded this assessment"
    wrong = therapist.post(
        f"/visits/{visit_id}/sign", data={"meaning": meaning, "password": "x", "version": 1}
    )
    assert wrong.status_code == 422
    assert "That is not your password" in wrong.get_data(as_text=True)
    ok = therapist.post(
        f"/visits/{visit_id}/sign", data={"meaning": meaning, "password": PASSWORD, "version": 1}
    )
    assert ok.status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert visit.status == "signed"
        assert visit.signature_meaning == meaning
        assert len(visit.content_hash) == 64
        assert visit.signed_by.email == "t@home.test"
    page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert "Signed by <strong>" in page and meaning in page
    assert therapist.post(f"/visits/{visit_id}/edit").location.endswith(f"/visits/{visit_id}/amend")


def test_amendment_keeps_the_original(app, therapist, clinic_world):
    visit_id = _save_and_sign(therapist, clinic_world["patient"].id)
    form = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(form, **{"mas-elbow_flexors-left": "1"})
    data.update(reason="Transcription error", password=PASSWORD, submission_key="amend-1")
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302  # resend
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        original = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
        assert original[("elbow_flexors", "left")] == "1+"
        assert len(visit.amendments) == 1
        assert json.loads(visit.amendments[0].changes) == {"mas:elbow_flexors:left": ["1+", "1"]}
    page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert "Transcription error" in page
    assert "<td>Elbow flexors - Left</td><td>1+</td><td>1</td>" in page


def test_amendment_needs_reason_and_password(app, therapist, clinic_world):
    visit_id = _save_and_sign(therapist, clinic_world["patient"].id)
    form = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(form, **{"mas-elbow_flexors-left": "1"})
    data.update(reason="", password="nope", submission_key="amend-2")
    before = _counts(app)
    response = therapist.post(f"/visits/{visit_id}/amend", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Say why the visit is corrected" in text
    assert "That is not your password" in text
    assert _counts(app) == before


def test_a_reason_too_long_is_refused_not_cut_short(app, therapist, clinic_world):
    """A reason past its limit is refused next to the field with the input kept (it was
    once stored cut to its first 1000 characters without a word)."""
    visit_id = _save_and_sign(therapist, clinic_world["patient"].id)
    form = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(form, **{"mas-elbow_flexors-left": "1"})
    reason = "Wrong side recorded. " * 50  # 1050 characters, 1049 once stripped
    data.update(reason=reason, password=PASSWORD, submission_key="amend-long")
    before = _counts(app)
    response = therapist.post(f"/visits/{visit_id}/amend", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The reason can hold at most 1000 characters; this has 1049." in text
    assert 'id="reason-error"' in text and reason.strip() in text  # the input is kept
    assert _counts(app) == before
    data["reason"] = reason[:1000]
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    with app.app_context():
        assert db.session.get(Visit, visit_id).amendments[0].reason == reason[:1000].strip()


def test_carry_forward_must_be_kept_cleared_or_changed(app, therapist, clinic_world):
    _save_and_sign(therapist, clinic_world["patient"].id)
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    assert re.search(r"from \d+ \w+ \d{4}: 1\+", page)
    assert 'name="carry-elbow_flexors-left" value="pending"' in page
    pending = _visit_data(page)
    pending["carry-elbow_flexors-left"] = "pending"
    refused = therapist.post(f"/drafts/{draft_id}", data=pending)
    assert refused.status_code == 422
    assert "Keep or clear the grade carried from" in refused.get_data(as_text=True)
    data = _visit_data(refused.get_data(as_text=True))
    data.update(
        {
            "carry-elbow_flexors-left": "kept",
            "carry-elbow_flexors-right": "cleared",
            "carry-knee_flexors-left": "pending",
            "mas-knee_flexors-left": "2",  # changed today: no confirmation needed
        }
    )
    assert therapist.post(f"/drafts/{draft_id}", data=data).status_code == 302
    with app.app_context():
        visit = db.session.scalars(select(Visit).order_by(Visit.id.desc())).first()
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
    assert grades[("elbow_flexors", "left")] == "1+"
    assert grades[("elbow_flexors", "right")] is None
    assert grades[("knee_flexors", "left")] == "2"


def test_visit_page_shows_previous_and_change(therapist, clinic_world):
    _save_and_sign(therapist, clinic_world["patient"].id)
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    data = _visit_data(page, **{"mas-knee_flexors-left": "2"})
    data.update({f"carry-{m}": "kept" for m in ("elbow_flexors-left", "elbow_flexors-right")})
    response = therapist.post(f"/drafts/{draft_id}", data=data)
    text = therapist.get(response.location).get_data(as_text=True)
    row = text.split('<th scope="row">Knee flexors (hamstrings) - Left</th>', 1)[1]
    row = row.split("</tr>", 1)[0]
    assert re.findall(r'<td class="grade">([^<]*)</td>', row) == ["2", "3"]
    assert "-1" in row and "improved" in row


def test_expired_form_is_shown_again_with_the_input(app, clinic_world):
    app.config["WTF_CSRF_ENABLED"] = True
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _hidden(page, "csrf_token")
    client.post("/login", data={"email": "t@home.test", "password": PASSWORD, "csrf_token": token})
    patient_id = clinic_world["patient"].id
    patient_page = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    draft_id, page = _start(client, patient_id, csrf_token=_hidden(patient_page, "csrf_token"))
    data = _visit_data(page, csrf_token=_hidden(page, "csrf_token"))
    before = _counts(app)
    import time

    time.sleep(2)  # the one-second token expires
    response = client.post(f"/drafts/{draft_id}", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "security check expired" in text
    assert "Walked 20 m with frame." in text
    assert _counts(app) == before
    fresh = _hidden(text, "csrf_token")
    assert fresh != data["csrf_token"]
    response = client.post(f"/drafts/{draft_id}", data={**data, "csrf_token": fresh})
    assert response.status_code == 302, re.findall(
        r"<h[12][^>]*>[^<]*</h[12]>|class=.error[^<]*<", response.get_data(as_text=True)
    )


def test_an_edit_of_grades_only_moves_the_visit_version(app, therapist, clinic_world):
    """Changing one grade of an unsigned visit replaces its rows and bumps version and time."""
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    with app.app_context():
        before = db.session.get(Visit, visit_id)
        version, updated_at = before.version, before.updated_at
    edit = therapist.post(f"/visits/{visit_id}/edit").location
    edit_page = therapist.get(edit).get_data(as_text=True)
    again = therapist.post(edit, data=_visit_data(edit_page, **{"mas-knee_flexors-left": "4"}))
    assert again.status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
        assert grades == {
            ("elbow_flexors", "left"): "1+",
            ("elbow_flexors", "right"): "2",
            ("knee_flexors", "left"): "4",
            ("knee_flexors", "right"): None,  # not graded
        }
        assert visit.version == version + 1 and visit.updated_at > updated_at
        changed = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "visit",
                AuditEvent.entity_id == visit_id,
                AuditEvent.action == "update",
            )
        ).all()
        assert [(e.field, e.old_value, e.new_value) for e in changed if "knee" in (e.field or "")]


def test_an_edit_of_a_visit_signed_meanwhile_is_kept_and_points_to_an_amendment(
    app, therapist, clinic_world
):
    """Edit in one tab, sign in another, save the edit: 409 that says so, input kept, nothing
    written to the signed visit; saving again says the same (no loop of 'keep my version')."""
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    edit = therapist.post(f"/visits/{visit_id}/edit").location
    edit_page = therapist.get(edit).get_data(as_text=True)
    meaning = "I performed and recorded this assessment"
    sign = {"meaning": meaning, "password": PASSWORD, "version": 1}
    assert therapist.post(f"/visits/{visit_id}/sign", data=sign).status_code == 302
    changed = _visit_data(edit_page, **{"mas-knee_flexors-left": "4"})
    for _ in range(2):
        response = therapist.post(edit, data=changed)
        page = response.get_data(as_text=True)
        assert response.status_code == 409
        assert "signed this visit while you were editing" in page
        assert f'href="/visits/{visit_id}/amend"' in page
        changed["version"] = _hidden(page, "version")
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
        draft = db.session.get(Draft, int(edit.rsplit("/", 1)[1]))
        assert visit.status == "signed" and grades[("knee_flexors", "left")] == "3"
        assert json.loads(draft.payload)["mas-knee_flexors-left"] == ["4"]  # the input is kept


@pytest.mark.parametrize("version", [None, "", "two", "1.0"])
def test_signing_without_the_version_seen_is_refused(app, therapist, clinic_world, version):
    """No version (or not a number) is no proof of what the signer saw: 409, the visit shown
    as it is now (with the notes changed meanwhile), a message, nothing signed."""
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    edit = therapist.post(f"/visits/{visit_id}/edit").location
    edit_page = therapist.get(edit).get_data(as_text=True)
    therapist.post(edit, data=_visit_data(edit_page, notes="Falls twice a week since."))
    form = {"meaning": "I performed and recorded this assessment", "password": PASSWORD}
    if version is not None:
        form["version"] = version
    refused = therapist.post(f"/visits/{visit_id}/sign", data=form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "did not say which version of the visit you checked" in text
    assert "Falls twice a week since." in text and "Walked 20 m" not in text
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert _hidden(text, "version") == str(visit.version)  # to sign what is shown now
        assert (visit.status, visit.signed_by_id, visit.content_hash) == ("draft", None, None)
        assert (
            db.session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity == "visit", AuditEvent.entity_id == visit_id
                )
            ).all()[-1]
            == "sign_refused"
        )


def test_signing_a_visit_changed_since_it_was_opened_is_refused(app, therapist, clinic_world):
    """The signer signs what they saw: an edit saved meanwhile means a 409, nothing signed."""
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    seen = _hidden(therapist.get(f"/visits/{visit_id}/review").get_data(as_text=True), "version")
    edit = therapist.post(f"/visits/{visit_id}/edit").location
    edit_page = therapist.get(edit).get_data(as_text=True)
    therapist.post(edit, data=_visit_data(edit_page, **{"mas-knee_flexors-left": "4"}))
    meaning = "I performed and recorded this assessment"
    stale = therapist.post(
        f"/visits/{visit_id}/sign",
        data={"meaning": meaning, "password": PASSWORD, "version": seen},
    )
    assert stale.status_code == 409
    assert "changed at" in stale.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Visit, visit_id).status == "draft"
    current = _hidden(therapist.get(f"/visits/{visit_id}/review").get_data(as_text=True), "version")
    ok = therapist.post(
        f"/visits/{visit_id}/sign",
        data={"meaning": meaning, "password": PASSWORD, "version": current},
    )
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(Visit, visit_id).status == "signed"


def test_the_same_amendment_sent_twice_at_once_is_recorded_once(app, therapist, clinic_world):
    """A double tap on "Record amendment" whose requests overlap: one amendment, no error."""
    visit_id = _save_and_sign(therapist, clinic_world["patient"].id)
    user_id = clinic_world["therapist"].id
    correction = VisitInput(
        visit_date=date.today(),
        rater="Tess Mills",
        muscles=("elbow_flexors",),
        grades=(("elbow_flexors", "left", "4"), ("elbow_flexors", "right", "2")),
        tardieu=(),
        pain_now=4,
        pain_worst=7,
        penn_frequency=2,
        penn_severity=1,
        side_effects=(("drowsiness", "mild"), ("nausea", "none")),
        side_effect_other_detail="",
        adherence="as_prescribed",
        notes="Walked 20 m with frame.",
    )

    def amend():
        visit, user = db.session.get(Visit, visit_id), db.session.get(User, user_id)
        assert signing.amend(visit, user, correction, "Wrong side", "same-key")

    assert twice_at_once(app, amend) == ["ok", "ok"]
    with app.app_context():
        amendments = db.session.scalars(
            select(Amendment).where(Amendment.submission_key == "same-key")
        ).all()
    assert [a.reason for a in amendments] == ["Wrong side"]


def test_an_edit_without_its_version_is_refused_even_with_a_field_too_long(
    app, therapist, clinic_world
):
    """Found by make fuzz on PostgreSQL: a field over the draft's limits made the draft skip
    its version check, and an edit with no version was saved."""
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    edit = therapist.post(f"/visits/{visit_id}/edit").location
    data = _visit_data(therapist.get(edit).get_data(as_text=True), **{"mas-knee_flexors-left": "4"})
    data.pop("version")
    data["id"] = "0" * 50
    response = therapist.post(edit, data=data)
    assert response.status_code == 409
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
    assert grades[("knee_flexors", "left")] == "3"
