"""Usual sets of muscles (issue 13, point 9): the patient's is remembered from the last saved
visit, a new patient starts from the clinic's (an admin setting), and the added muscle groups
travel through the visit page, the trend grid, the PDF and the exports."""

import json
import re

import pytest
from sqlalchemy import select

from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import AuditEvent, Clinic, Patient
from tests.conftest import PASSWORD
from tests.test_summary_pdf import _text, _visit
from tests.test_visits import _start, _visit_data

SETTINGS = {
    "paper_size": "A4",
    "timezone": "UTC",
    "refill_margin_days": "7",
    "review_interval_days": "90",
    "review_after_dose_change_days": "14",
    "acknowledge_within_days": "7",
}
NEW_MUSCLES = {
    "mas-thumb_flexors-left": "2",
    "mas-hip_internal_rotators-right": "1+",
    "mas-toe_flexors-left": "3",
}


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


@pytest.fixture
def admin(app, clinic_world):
    client = app.test_client()
    client.post("/login", data={"email": "a@home.test", "password": PASSWORD})
    return client


def _selected(page: str) -> list[str]:
    """The muscle codes ticked in the visit form's "Muscles assessed" picker."""
    return re.findall(
        r'<input checked id="muscles-\d+" name="muscles" type="checkbox" value="([a-z_]+)"', page
    )


def _picker(page: str) -> str:
    return re.search(r"Muscles assessed: \d+ of \d+", page).group(0)


def _clinic_set(app, clinic_id: int) -> list[str]:
    with app.app_context():
        return json.loads(db.session.get(Clinic, clinic_id).usual_muscles)


def test_a_clinic_that_never_chose_starts_new_patients_with_the_twelve(therapist, clinic_world):
    _, page = _start(therapist, clinic_world["patient"].id)
    assert _selected(page) == list(scales.STANDARD_MUSCLES)
    assert _picker(page) == f"Muscles assessed: 12 of {len(scales.MUSCLES)}"


def test_the_clinic_usual_set_is_where_a_new_patient_starts(
    app, admin, therapist, clinic_world, make_patient
):
    page = admin.get("/admin/clinic").get_data(as_text=True)
    assert "Muscles a first visit of a new patient starts with" in page
    assert "Toe flexors (long toe flexors)" in page
    chosen = ["elbow_flexors", "thumb_flexors", "toe_flexors", "ankle_plantarflexors"]
    saved = admin.post("/admin/clinic", data={**SETTINGS, "usual_set": chosen})
    assert saved.status_code == 302
    in_order = ["elbow_flexors", "thumb_flexors", "ankle_plantarflexors", "toe_flexors"]
    assert _clinic_set(app, clinic_world["home"].id) == in_order
    assert _clinic_set(app, clinic_world["other"].id) == []  # another clinic keeps its own
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.entity == "clinic", AuditEvent.field == "usual_muscles"
            )
        )
        assert event.new_value == json.dumps(in_order)
        assert event.user_email == "a@home.test"
    again = admin.get("/admin/clinic").get_data(as_text=True)
    ticked = re.findall(
        r'<input checked id="usual_set-\d+" name="usual_set" type="checkbox" value="([a-z_]+)"',
        again,
    )
    assert ticked == in_order

    newcomer = make_patient(clinic_world["home"], mrn="NEW-1", family_name="Okoro")
    _, page = _start(therapist, newcomer.id)
    assert _selected(page) == in_order
    assert _picker(page) == f"Muscles assessed: 4 of {len(scales.MUSCLES)}"


def test_a_patient_starts_from_the_muscles_of_their_last_saved_visit(
    app, admin, therapist, clinic_world
):
    admin.post("/admin/clinic", data={**SETTINGS, "usual_set": ["hip_flexors"]})
    pid = clinic_world["patient"].id
    draft_id, page = _start(therapist, pid)
    assert _selected(page) == ["hip_flexors"]
    mine = ["thumb_flexors", "hip_internal_rotators", "toe_flexors"]
    data = _visit_data(page, muscles=mine, **NEW_MUSCLES)
    assert therapist.post(f"/drafts/{draft_id}", data=data).status_code == 302
    with app.app_context():
        assert json.loads(db.session.get(Patient, pid).usual_muscles) == mine
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.entity == "patient", AuditEvent.field == "usual_muscles"
            )
        )
        assert (event.patient_id, event.old_value) == (pid, "")
        assert event.new_value == "thumb_flexors, hip_internal_rotators, toe_flexors"

    # The next visit starts from the patient's set, not the clinic's.
    _, page = _start(therapist, pid)
    assert _selected(page) == mine
    # A later clinic change does not touch a patient who has a set of their own.
    admin.post("/admin/clinic", data={**SETTINGS, "usual_set": ["knee_flexors"]})
    with app.app_context():
        assert json.loads(db.session.get(Patient, pid).usual_muscles) == mine


def test_a_draft_never_saved_changes_no_usual_set(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    draft_id, page = _start(therapist, pid)
    data = _visit_data(page, muscles=["toe_flexors"])
    saved = therapist.post(
        f"/drafts/{draft_id}/autosave", data=data, headers={"Accept": "application/json"}
    )
    assert saved.get_json()["saved"] is True
    with app.app_context():
        assert json.loads(db.session.get(Patient, pid).usual_muscles) == []


@pytest.mark.parametrize("role_email", ["t@home.test", "p@home.test"])
def test_only_an_admin_sets_the_clinic_usual_set(app, clinic_world, role_email):
    client = app.test_client()
    client.post("/login", data={"email": role_email, "password": PASSWORD})
    response = client.post("/admin/clinic", data={**SETTINGS, "usual_set": ["toe_flexors"]})
    assert response.status_code in (403, 404)
    assert client.get("/admin/clinic").status_code in (403, 404)
    assert _clinic_set(app, clinic_world["home"].id) == []


def test_an_unknown_muscle_is_refused_beside_the_field_and_nothing_is_written(
    app, admin, clinic_world
):
    posted = {**SETTINGS, "refill_margin_days": "12", "usual_set": ["forearm_pronators"]}
    response = admin.post("/admin/clinic", data=posted)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="usual_set-error">([^<]*)</p>', page)
    assert error and error.group(1) == "Choose only from the options shown."
    assert 'value="12"' in page  # the other input is kept
    with app.app_context():
        clinic = db.session.get(Clinic, clinic_world["home"].id)
        assert (clinic.usual_muscles, clinic.refill_margin_days) == ("[]", 7)


def test_added_muscles_show_on_the_visit_page_trend_grid_pdf_and_exports(
    app, therapist, clinic_world
):
    pid = clinic_world["patient"].id
    extra = {"muscles": ["thumb_flexors", "hip_internal_rotators", "toe_flexors"], **NEW_MUSCLES}
    visit_id = _visit(therapist, pid, **extra)

    visit_page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    for legend in (
        "Thumb flexors - Left",
        "Hip internal rotators - Right",
        "Toe flexors (long toe flexors) - Left",
    ):
        assert legend in visit_page

    trend = therapist.get(f"/patients/{pid}/trend").get_data(as_text=True)
    grid = trend[trend.index('id="grid-h"') if 'id="grid-h"' in trend else 0 :]
    assert "Thumb flexors" in grid and "Toe flexors (long toe flexors)" in grid
    assert "Hip internal rotators" in grid
    # Only the muscles with data have rows: none graded today shows up.
    assert "Elbow flexors" not in grid and "Ankle invertors" not in grid

    flat = " ".join(_text(therapist.get(f"/visits/{visit_id}/summary.pdf").data).split())
    # The PDF's grid: one row per muscle, left (now, prev., base, vs prev., vs base) then
    # right; "-" where a side was not assessed.
    assert "Thumb flexors 2 - - - - - - - - -" in flat
    assert "Hip internal rotators - - - - - 1+ - - - -" in flat
    assert "Toe flexors (long toe flexors) 3 - - - - - - - - -" in flat
    assert "Elbow flexors" not in flat

    csv = therapist.get(f"/patients/{pid}/export.csv").get_data(as_text=True)
    assert re.search(r"thumb_flexors,[^\n]*left[^\n]*,2", csv)
    assert "toe_flexors" in csv and "hip_internal_rotators" in csv

    bundle = therapist.get(f"/patients/{pid}/fhir").get_json()
    codings = [
        (c["code"], c["display"])
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for c in e["resource"].get("bodySite", {}).get("coding", [])
    ]
    assert ("toe_flexors", "Toe flexors (long toe flexors)") in codings
    assert ("thumb_flexors", "Thumb flexors") in codings
