"""From a saved visit to a signature: review and sign, discard with a reason, and each grade's
provenance (examined today or carried forward) kept in the signed content."""

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import AuditEvent, Draft, MasScore, User, Visit
from spastic.visits.content import content_of
from spastic.visits.records import content_hash
from tests.conftest import PASSWORD
from tests.test_summary_pdf import _text
from tests.test_visits import _hidden, _start, _visit_data

MEANING, SECOND_MEANING = (
    "I performed and recorded this assessment",
    "I reviewed and approve this record",
)
LAST_MONTH = (date.today() - timedelta(days=30)).isoformat()


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _save(client, patient_id, **extra):
    """Fill and submit the form, every carried row kept or changed (as visit.js marks it)."""
    draft_id, page = _start(client, patient_id)
    data = _visit_data(page, **extra)
    data.update({n: "kept" for n in re.findall(r'name="(carry-[^"]+)" value="pending"', page)})
    response = client.post(f"/drafts/{draft_id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.location.split("/")[2]), response


def _sign(client, visit_id, password=PASSWORD, meaning=MEANING):
    version = _hidden(client.get(f"/visits/{visit_id}/review").get_data(as_text=True), "version")
    data = {"meaning": meaning, "password": password, "version": version}
    return client.post(f"/visits/{visit_id}/sign", data=data)


def _baseline(client, patient_id):
    """A signed visit last month: elbow flexors 1+ / 2, knee flexors left 3, pain 4."""
    visit_id, _ = _save(client, patient_id, visit_date=LAST_MONTH)
    assert _sign(client, visit_id).status_code == 302
    return visit_id


def _audit(app, action, **where):
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return db.session.scalars(query.order_by(AuditEvent.id)).all()


# --- one path to a signed visit ------------------------------------------------------------


def test_saving_lands_on_one_review_page_with_what_will_be_signed(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    _baseline(therapist, pid)
    changed = {"mas-knee_flexors-left": "2", "pain_now": "6", "se-nausea": "moderate"}
    visit_id, saved = _save(therapist, pid, **changed)
    assert saved.location == f"/visits/{visit_id}/review"
    page = therapist.get(saved.location).get_data(as_text=True)
    assert "Visit saved, not signed. Check it, then sign it." in page  # the flash
    assert re.search(r"Visit saved \d\d:\d\d, not signed\.", page)
    assert "Saved at" not in page and "not saved yet" not in page
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    # Each muscle-side now against the previous signed visit, with the change.
    assert "Knee flexors (hamstrings) - Left 2 3 -1 ▼ improved" in text
    day = f"{date.fromisoformat(LAST_MONTH):%-d %b %Y}"
    assert f"Elbow flexors - Left 1+ carried from {day}, not re-examined 1+ 0" in text
    assert f"Elbow flexors - Right 2 carried from {day}, not re-examined 2 0" in text
    # Pain, Penn and side effects beside the previous visit's.
    assert "Pain now (0-10) 6 4" in text
    assert "Penn spasm frequency 2 · " in text
    assert "Side effect: Nausea moderate none" in text
    assert "Side effect: Drowsiness mild mild" in text
    # The signature meaning, the password and Sign, on this page.
    assert MEANING in page and SECOND_MEANING in page
    assert 'name="password" type="password"' in page
    assert f'action="/visits/{visit_id}/sign"' in page
    assert "Sign visit" in page


def test_the_form_ends_in_review_and_sign(therapist, clinic_world):
    _, page = _start(therapist, clinic_world["patient"].id)
    assert re.search(r"<button [^>]*data-submit>Review and sign</button>", page)
    assert ">Save visit<" not in page


def test_sign_from_review_keeps_input_and_counts_toward_the_lockout(app, therapist, clinic_world):
    visit_id, _ = _save(therapist, clinic_world["patient"].id)
    refused = _sign(therapist, visit_id, password="wrong", meaning=SECOND_MEANING)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    # The message is beside the password field; the meaning chosen is still chosen.
    field = re.search(r'<div class="field has-error">(.*?)</div>', page, re.S).group(1)
    assert 'id="sign-password"' in field and "The visit is not signed." in field
    assert re.search(rf'value="{SECOND_MEANING}" checked', page)
    assert "Review and sign" in page  # re-shown on the review page
    with app.app_context():
        assert db.session.get(Visit, visit_id).status == "draft"
        user = db.session.get(User, clinic_world["therapist"].id)
        assert user.failed_logins == 1
    assert len(_audit(app, "reauth_failed", entity_id=visit_id)) == 1
    for _ in range(4):
        _sign(therapist, visit_id, password="wrong")
    with app.app_context():
        assert db.session.get(User, clinic_world["therapist"].id).locked_until is not None
        assert db.session.get(Visit, visit_id).status == "draft"


def test_signing_says_who_and_when(app, therapist, clinic_world):
    visit_id, _ = _save(therapist, clinic_world["patient"].id)
    signed = _sign(therapist, visit_id)
    assert signed.location == f"/visits/{visit_id}"
    page = therapist.get(signed.location).get_data(as_text=True)
    name = clinic_world["therapist"].name
    assert re.search(rf"Signed \d\d:\d\d by {name}\. It can no longer be edited", page)
    assert re.search(rf"Signed \d\d:\d\d by {name} on \d{{1,2}} \w{{3}} \d{{4}}", page)
    # The review page of a signed visit is the visit page.
    assert therapist.get(f"/visits/{visit_id}/review").location == f"/visits/{visit_id}"


def test_review_is_a_therapists_page(app, client, auth, clinic_world, patient_records):
    auth.login(clinic_world["physician"])
    unsigned = patient_records["unsigned"]
    assert client.get(f"/visits/{unsigned}/review").status_code == 403
    page = client.get(f"/visits/{unsigned}").get_data(as_text=True)
    # Physicians see the PDF and Print buttons, not the signing ones.
    assert f'href="/visits/{unsigned}/summary.pdf">Summary PDF</a>' in page
    assert "data-print>Print</button>" in page
    assert "Review and sign" not in page and "/discard" not in page


def test_visit_page_has_summary_pdf_and_print(therapist, patient_records):
    page = therapist.get(f"/visits/{patient_records['visit_id']}").get_data(as_text=True)
    assert f'href="/visits/{patient_records["visit_id"]}/summary.pdf">Summary PDF</a>' in page
    assert '<script src="/static/js/print.js" defer></script>' in page
    assert "onclick" not in page


# --- discard -------------------------------------------------------------------------------


def test_discarding_a_draft_needs_a_bounded_reason_and_is_audited_once(
    app, therapist, clinic_world
):
    pid = clinic_world["patient"].id
    draft_id, _ = _start(therapist, pid)
    patient_page = therapist.get(f"/patients/{pid}").get_data(as_text=True)
    assert "(not yet a visit)" in patient_page and f"/drafts/{draft_id}/discard" in patient_page
    form = therapist.get(f"/drafts/{draft_id}/discard").get_data(as_text=True)
    token = _hidden(form, "csrf_token")
    for reason, message in (("  ", "Say why"), ("x" * 301, "at most 300 characters")):
        refused = therapist.post(
            f"/drafts/{draft_id}/discard", data={"csrf_token": token, "reason": reason}
        )
        assert refused.status_code == 422 and message in refused.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(Draft, draft_id).discarded_at is None
    reason = {"csrf_token": token, "reason": "Wrong patient"}
    first = therapist.post(f"/drafts/{draft_id}/discard", data=reason)
    again = therapist.post(f"/drafts/{draft_id}/discard", data=reason)
    assert first.status_code == again.status_code == 302
    with app.app_context():
        draft = db.session.get(Draft, draft_id)
        assert (draft.discard_reason, draft.discarded_by_id) == (
            "Wrong patient",
            clinic_world["therapist"].id,
        )
    (event,) = _audit(app, "discard", entity="draft")
    assert (event.new_value, event.patient_id) == ("Wrong patient", pid)
    patient_page = therapist.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Continue visit in progress" not in patient_page and ">New visit<" in patient_page
    # The discarded draft's form and autosave say so; a new visit starts afresh.
    assert therapist.get(f"/drafts/{draft_id}").location == f"/patients/{pid}"
    autosave = therapist.post(f"/drafts/{draft_id}/autosave", data={"rater": "X"})
    assert autosave.status_code == 410 and "discarded" in autosave.json["error"]
    new_draft, _ = _start(therapist, pid)
    assert new_draft != draft_id


def test_a_discarded_visit_is_no_visit_anywhere(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    visit_id, _ = _save(therapist, pid, rater="Discard Me")
    token = _hidden(
        therapist.get(f"/visits/{visit_id}/discard").get_data(as_text=True), "csrf_token"
    )
    done = therapist.post(
        f"/visits/{visit_id}/discard", data={"csrf_token": token, "reason": "Entered twice"}
    )
    assert done.location == f"/patients/{pid}"
    (event,) = _audit(app, "discard", entity="visit", entity_id=visit_id)
    assert event.new_value == "Entered twice"
    assert "Discard Me" not in therapist.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Discard Me" not in therapist.get(f"/patients/{pid}/trend").get_data(as_text=True)
    assert "Discard Me" not in therapist.get(f"/patients/{pid}/export.csv").get_data(as_text=True)
    assert "Discard Me" not in therapist.get(f"/patients/{pid}/fhir").get_data(as_text=True)
    assert "Discard Me" not in therapist.get("/worklist").get_data(as_text=True)
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").status_code == 404
    assert therapist.get(f"/visits/{visit_id}/review").status_code == 404
    assert (
        therapist.post(f"/visits/{visit_id}/sign", data={"password": PASSWORD}).status_code == 404
    )
    gone = therapist.get(f"/visits/{visit_id}")
    assert gone.status_code == 410
    assert f"Discarded by {clinic_world['therapist'].name} on " in gone.get_data(as_text=True)
    with app.app_context():  # kept, not deleted
        assert db.session.get(Visit, visit_id).rater == "Discard Me"


def test_a_signed_visit_is_amended_not_discarded(app, therapist, patient_records):
    signed = patient_records["visit_id"]
    refused = therapist.post(f"/visits/{signed}/discard", data={"reason": "Oops"})
    assert refused.location == f"/visits/{signed}"
    page = therapist.get(refused.location).get_data(as_text=True)
    assert "A signed visit cannot be discarded; correct it with an amendment." in page
    with app.app_context():
        assert db.session.get(Visit, signed).discarded_at is None
    assert _audit(app, "discard") == []


def test_physicians_cannot_discard(app, client, auth, clinic_world, patient_records):
    auth.login(clinic_world["physician"])
    for url in (
        f"/visits/{patient_records['unsigned']}/discard",
        f"/drafts/{patient_records['draft_id']}/discard",
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, data={"reason": "No"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Visit.discarded_at.is_not(None))) == 0


def test_a_stale_draft_is_named_as_such_and_never_removed(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    draft_id, _ = _start(therapist, pid)
    with app.app_context():
        draft = db.session.get(Draft, draft_id)
        draft.updated_at = draft.updated_at - timedelta(days=3)
        db.session.commit()
        day = f"{draft.updated_at:%-d %b %Y}"
    page = therapist.get(f"/patients/{pid}").get_data(as_text=True)
    assert f"Stale draft from {day} (not yet a visit)" in page
    assert "Continue visit in progress" in page and f"/drafts/{draft_id}/discard" in page
    with app.app_context():
        assert db.session.get(Draft, draft_id).discarded_at is None


# --- provenance of each grade --------------------------------------------------------------


def test_carried_grades_keep_their_provenance_in_the_signed_content(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    _baseline(therapist, pid)
    # Elbow right kept as carried (2); the others carried but examined today (changed).
    visit_id, _ = _save(
        therapist, pid, **{"mas-knee_flexors-left": "2", "mas-elbow_flexors-left": "2"}
    )
    assert _sign(therapist, visit_id).status_code == 302
    with app.app_context():
        scores = {
            (s.muscle, s.side): s.carried_from
            for s in db.session.scalars(select(MasScore).where(MasScore.visit_id == visit_id))
        }
        visit = db.session.get(Visit, visit_id)
        content = content_of(visit)
        signed_hash = visit.content_hash
    assert scores[("elbow_flexors", "right")] == date.fromisoformat(LAST_MONTH)
    assert scores[("knee_flexors", "left")] is None
    assert scores[("elbow_flexors", "left")] is None
    assert content["carried:elbow_flexors:right"] == LAST_MONTH
    assert "carried:knee_flexors:left" not in content
    assert signed_hash == content_hash(content)
    assert signed_hash != content_hash(
        {k: v for k, v in content.items() if not k.startswith("carried:")}
    )
    day = f"{date.fromisoformat(LAST_MONTH):%-d %b %Y}"
    page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert f"carried from {day}, not re-examined" in page
    pdf = re.sub(r"\s+", " ", _text(therapist.get(f"/visits/{visit_id}/summary.pdf").data))
    assert f"carried from {day}, not re-examined" in pdf.replace("re- examined", "re-examined")
    exported = therapist.get(f"/patients/{pid}/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    carried_rows = [r for r in rows if r["mas_carried_from"] == LAST_MONTH]
    assert [(r["muscle"], r["side"], r["mas_grade"]) for r in carried_rows] == [
        ("elbow_flexors", "right", "2")
    ]
    bundle = therapist.get(f"/patients/{pid}/fhir").json
    notes = [
        e["resource"]["note"][0]["text"]
        for e in bundle["entry"]
        if e["resource"].get("note") and e["resource"]["resourceType"] == "Observation"
    ]
    assert notes == [f"Carried forward from the visit of {LAST_MONTH}, not re-examined."]


def test_an_amendment_that_examines_a_carried_grade_records_it(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    _baseline(therapist, pid)
    visit_id, _ = _save(therapist, pid)
    _sign(therapist, visit_id)
    page = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    assert 'name="carry-elbow_flexors-right" value="kept"' in page
    data = _visit_data(page, **{"mas-elbow_flexors-right": "3"})
    data.update(reason="Re-examined", password=PASSWORD, submission_key="amend-1")
    data.update({n: "kept" for n in re.findall(r'name="(carry-[^"]+)" value="kept"', page)})
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        changes = json.loads(visit.amendments[0].changes)
    assert changes["mas:elbow_flexors:right"] == ["2", "3"]
    assert changes["carried:elbow_flexors:right"] == [LAST_MONTH, None]
    page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert re.search(r'Elbow flexors - Right</th>\s*<td class="grade">3</td>', page)
    assert re.search(r'Elbow flexors - Left</th>\s*<td class="grade">1\+ <span', page)
