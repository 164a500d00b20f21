"""Roles on every patient-scoped write route, session fixation and the absolute timeout."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import Amendment, DoseChange, Draft, LoginSession, Patient, Visit, utcnow
from tests.conftest import PASSWORD
from tests.test_isolation import HOSTILE_FORM, ROUTES, _patient_urls

READ_ONLY = {
    "patients.detail",
    "trends.show",
    "visits.detail",
    "reports.summary_pdf",
    "exports.fhir_bundle",
    "exports.csv_file",
    "inbox.summary",
}
# The one write a physician makes (issue 14): acknowledging a summary they reviewed.
PHYSICIAN_WRITES = {"inbox.acknowledge"}


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Patient, DoseChange, Visit, Draft, Amendment)
        )


def test_care_team_physician_may_read_but_gets_403_on_every_write(
    app, clinic_world, patient_records
):
    client = app.test_client()
    client.post("/login", data={"email": "p@home.test", "password": PASSWORD})
    before = _counts(app)
    checked = 0
    for method, url in _patient_urls(app, patient_records):
        endpoint = app.url_map.bind("localhost").match(url, method=method)[0]
        response = client.open(url, method=method, data=HOSTILE_FORM)
        if endpoint in READ_ONLY and method == "GET":
            assert response.status_code == 200, (method, url)
        elif endpoint in PHYSICIAN_WRITES:
            assert response.status_code == 302, (method, url, response.status_code)
        elif method == "POST" or endpoint in {
            "visits.new",
            "visits.draft",
            "visits.edit",
            "visits.amend",
            "patients.edit",
            "regimen.new",
        }:
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 8
    assert _counts(app) == before


def test_admin_reaches_no_patient_route(app, clinic_world, patient_records):
    client = app.test_client()
    client.post("/login", data={"email": "a@home.test", "password": PASSWORD})
    before = _counts(app)
    for method, url in _patient_urls(app, patient_records):
        response = client.open(url, method=method, data=HOSTILE_FORM)
        assert response.status_code == 404, (method, url)
        assert b"NGUYEN" not in response.data
    assert _counts(app) == before


@pytest.mark.parametrize("field", ["patient_id", "clinic_id", "therapist_id", "signed_by_id", "id"])
def test_ids_in_form_bodies_change_nothing(app, clinic_world, patient_records, field):
    client = app.test_client()
    client.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    other = clinic_world["other_patient"].id
    draft = patient_records["draft_id"]
    page = client.get(f"/drafts/{draft}").get_data(as_text=True)
    key = page.split('name="submission_key" value="', 1)[1].split('"', 1)[0]
    version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
    data = {
        "visit_date": "2026-02-02",
        "rater": "T",
        "muscles": ["hip_flexors"],
        "mas-hip_flexors-left": "1",
        "carry-hip_flexors-left": "kept",
        "version": version,
        "submission_key": key,
        field: str(other),
        "status": "signed",
        "signed_at": "2020-01-01",
        "clinic": "2",
    }
    response = client.post(f"/drafts/{draft}", data=data)
    assert response.status_code == 302
    visit_id = int(response.location.split("/")[2])
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert visit.patient_id == clinic_world["patient"].id
        assert visit.status == "draft" and visit.signed_at is None
        assert visit.therapist_id == clinic_world["therapist"].id
        others = db.session.scalar(
            select(func.count()).select_from(Visit).where(Visit.patient_id == other)
        )
    assert others == 0


def test_login_gives_a_new_session(app, clinic_world):
    victim = app.test_client()
    victim.get("/login")
    planted = victim.get_cookie("spastic_session")
    victim.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    assert victim.get_cookie("spastic_session").value != (planted.value if planted else None)
    attacker = app.test_client()
    if planted:
        attacker.set_cookie("spastic_session", planted.value)
    assert attacker.get("/patients").status_code == 302


def test_absolute_timeout_ends_an_active_session(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    with app.app_context():
        row = db.session.scalar(select(LoginSession))
        row.created_at = utcnow() - timedelta(hours=12, minutes=1)
        row.last_seen_at = utcnow()  # active a moment ago: only the 12 h limit applies
        db.session.commit()
    assert client.get("/patients").status_code == 302
    assert ROUTES  # the inventory these tests walk
