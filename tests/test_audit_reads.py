"""Every page that shows a patient names them in the audit trail: forms and search results too."""

import pytest
from sqlalchemy import select

from spastic.extensions import db
from spastic.models import AuditEvent
from tests.conftest import PASSWORD


def _events_after(app, after: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(
                AuditEvent.user_id,
                AuditEvent.action,
                AuditEvent.entity,
                AuditEvent.patient_id,
                AuditEvent.field,
                AuditEvent.new_value,
            )
            .where(AuditEvent.id > after)
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(row) for row in rows]


def _last_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))


@pytest.fixture
def therapist(app, clinic_world):
    client = app.test_client()
    client.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    return client


@pytest.mark.parametrize(
    ("path", "entity"),
    [
        ("/patients/{patient}/edit", "patient_form"),
        ("/patients/{patient}/doses/new", "dose_form"),
        ("/visits/{visit}/amend", "amend_form"),
    ],
)
def test_forms_that_show_a_patient_are_audited(
    app, therapist, clinic_world, patient_records, path, entity
):
    pid = clinic_world["patient"].id
    url = path.format(patient=pid, visit=patient_records["visit_id"])
    before = _last_id(app)
    page = therapist.get(url)
    assert page.status_code == 200
    assert "NGUYEN" in page.get_data(as_text=True)
    user = clinic_world["therapist"].id
    assert _events_after(app, before) == [(user, "view", entity, pid, None, None)]


def test_refused_input_shows_the_form_again_and_is_audited(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    before = _last_id(app)
    refused = therapist.post(f"/patients/{pid}/doses/new", data={"daily_dose": "abc"})
    assert refused.status_code == 200 and "NGUYEN" in refused.get_data(as_text=True)
    assert [e[1:4] for e in _events_after(app, before)] == [("view", "dose_form", pid)]


def test_search_names_every_patient_it_listed(app, therapist, clinic_world, make_patient):
    second = make_patient(clinic_world["home"], mrn="MRN-2", family_name="Nguyenova")
    make_patient(clinic_world["home"], mrn="MRN-3", family_name="Other")
    pid, user = clinic_world["patient"].id, clinic_world["therapist"].id
    before = _last_id(app)
    listing = therapist.get("/patients?q=nguyen&partial=1").get_data(as_text=True)
    assert "NGUYEN," in listing and "NGUYENOVA" in listing and "OTHER" not in listing
    events = _events_after(app, before)
    assert sorted(events) == sorted(
        [
            (user, "list", "patient", pid, "q", "nguyen"),
            (user, "list", "patient", second.id, "q", "nguyen"),
        ]
    )
    # The other clinic's patient, and this clinic's unmatched one, are not named.
    before = _last_id(app)
    therapist.get("/patients?q=nobody-matches")
    assert _events_after(app, before) == [(user, "list", "patient", None, "q", "nobody-matches")]
