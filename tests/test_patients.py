"""Patients: register, search, edit; MRN unique per clinic; bad input writes nothing."""

from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import AuditEvent, Patient

VALID = {
    "mrn": "DR-2001",
    "family_name": "Müller",
    "given_name": "Jörg",
    "birth_date": "1970-05-01",
    "sex": "male",
    "diagnosis": "sci",
    "sci_level": "T4",
    "ais_grade": "A",
    "diagnosis_detail": "Fall 2018",
    "egfr": "72",
    "egfr_date": "2026-10-01",
    "referring_name": "Dr Ref",
    "referring_email": "ref@example.org",
}


def _count(app, model=Patient):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_therapist_registers_patient_with_care_team(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    data = {**VALID, "care_team": [str(clinic_world["physician"].id)]}
    response = client.post("/patients/new", data=data)
    assert response.status_code == 302
    page = client.get(response.location)
    assert "MÜLLER, Jörg" in page.get_data(as_text=True)
    assert b"Dr On Team" in page.data
    with app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.mrn == "DR-2001"))
        assert patient.clinic_id == clinic_world["home"].id
        assert str(patient.egfr) == "72.0"
        assert [u.email for u in patient.care_team] == ["p@home.test"]
        fields = db.session.scalars(
            select(AuditEvent.field).where(
                AuditEvent.action == "create", AuditEvent.patient_id == patient.id
            )
        ).all()
        assert {"mrn", "family_name", "birth_date", "egfr"} <= set(fields)


def test_mrn_unique_within_clinic_but_not_across(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    before = _count(app)
    duplicate = client.post("/patients/new", data={**VALID, "mrn": "MRN-1"})
    assert b"Another patient of this clinic already has this MRN." in duplicate.data
    assert b'value="M\xc3\xbcller"' in duplicate.data  # the rest of the input is kept
    assert _count(app) == before
    other = app.test_client()
    other.post("/login", data={"email": "t@other.test", "password": "correct-horse-battery"})
    assert other.post("/patients/new", data={**VALID, "mrn": "MRN-1"}).status_code == 302


def test_bad_input_gets_messages_and_writes_nothing(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    before = _count(app), _count(app, AuditEvent)
    bad = {
        **VALID,
        "birth_date": "2999-01-01",
        "sci_level": "",
        "egfr": "abc",
        "referring_email": "not-an-email",
        "care_team": [str(clinic_world["other_physician"].id)],
    }
    response = client.post("/patients/new", data=bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The birth date cannot be in the future." in text
    assert "Choose the neurological level for a spinal cord injury." in text
    assert "Enter eGFR as a number between 1 and 200" in text
    assert "Enter a valid email address." in text
    assert (
        "Choose only from the options shown." in text
    )  # another clinic's physician cannot join the team
    assert (_count(app), _count(app, AuditEvent)) == before


def test_search_by_name_and_mrn(client, auth, clinic_world, make_patient):
    make_patient(clinic_world["home"], mrn="DR-0042", family_name="Okafor", given_name="Ada")
    auth.login(clinic_world["therapist"])
    by_name = client.get("/patients?q=okaf&partial=1").get_data(as_text=True)
    assert "OKAFOR, Ada" in by_name
    assert "NGUYEN" not in by_name
    by_mrn = client.get("/patients?q=dr-0042").get_data(as_text=True)
    assert "OKAFOR, Ada" in by_mrn
    full_name = client.get("/patients?q=ada okafor&partial=1").get_data(as_text=True)
    assert "OKAFOR, Ada" in full_name
    wildcard = client.get("/patients?q=%25&partial=1").get_data(as_text=True)
    assert "No patient matches" in wildcard


def test_edit_records_old_and_new_values(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    patient_id = clinic_world["patient"].id
    form = client.get(f"/patients/{patient_id}/edit").get_data(as_text=True)
    assert 'name="version" value="1"' in form
    data = {**VALID, "mrn": "MRN-1", "family_name": "Nguyen", "given_name": "Linh", "version": 1}
    data["egfr"] = "45"
    response = client.post(f"/patients/{patient_id}/edit", data=data)
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.field == "egfr")
        ).all()
        assert [(r.old_value, r.new_value) for r in rows] == [(None, "45")]


def test_concurrent_edit_is_not_silently_overwritten(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    patient_id = clinic_world["patient"].id
    base = {**VALID, "mrn": "MRN-1", "family_name": "Nguyen", "given_name": "Linh"}
    first = client.post(f"/patients/{patient_id}/edit", data={**base, "egfr": "50", "version": 1})
    assert first.status_code == 302
    second = client.post(f"/patients/{patient_id}/edit", data={**base, "egfr": "99", "version": 1})
    text = second.get_data(as_text=True)
    assert "Someone else saved this patient while you were editing" in text
    assert 'value="99"' in text  # the second user's input is kept
    with app.app_context():
        assert str(db.session.get(Patient, patient_id).egfr) == "50.0"


def test_physician_cannot_edit_or_register(client, auth, clinic_world):
    auth.login(clinic_world["physician"])
    assert client.get(f"/patients/{clinic_world['patient'].id}").status_code == 200
    assert client.get(f"/patients/{clinic_world['patient'].id}/edit").status_code == 403
    assert client.post("/patients/new", data=VALID).status_code == 403


def test_viewing_a_patient_is_audited(app, client, auth, clinic_world):
    auth.login(clinic_world["physician"])
    client.get(f"/patients/{clinic_world['patient'].id}")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.patient_id, event.user_email) == (
            "view",
            clinic_world["patient"].id,
            "p@home.test",
        )
