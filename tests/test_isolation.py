"""No patient route answers for anyone outside the clinic or the care team.

ROUTES lists every rule the app has; a new route without an entry fails the suite, so its
access rule has to be decided (and tested here) before it lands.
"""

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import (
    Amendment,
    AuditEvent,
    DoseChange,
    Draft,
    MasScore,
    Patient,
    Pump,
    Refill,
    ShareLink,
    Visit,
)

# endpoint -> scope. "patient" routes are probed below for every outsider.
ROUTES = {
    "static": "public",
    "health.healthz": "public",
    "offline.service_worker": "public",
    "offline.page": "public",
    "auth.index": "public",
    "auth.login": "public",
    "auth.logout": "user",
    "auth.change_password": "user",
    "auth.ping": "user",
    "admin.users": "admin",
    "admin.new_user": "admin",
    "admin.toggle_active": "admin",
    "admin.audit_trail": "admin",
    "admin.clinic_settings": "admin",
    "patients.index": "clinical",
    "patients.new": "therapist",
    "patients.detail": "patient",
    "patients.edit": "patient",
    "regimen.new": "patient",
    "route_switch.new": "patient",
    "pumps.new": "patient",
    "pumps.refill": "patient",
    "worklist.index": "clinical",
    "worklist.book": "patient",
    "worklist_export.csv_file": "clinical",
    "trends.show": "patient",
    "exports.fhir_bundle": "patient",
    "exports.csv_file": "patient",
    "visits.new": "patient",
    "visits.draft": "patient",
    "visits.autosave": "patient",
    "visits.submit": "patient",
    "visits.detail": "patient",
    "visits.edit": "patient",
    "signing.review": "patient",
    "signing.sign": "patient",
    "discard.draft": "patient",
    "discard.visit": "patient",
    "visits.amend": "patient",
    "reports.summary_pdf": "patient",
    "sharing.send": "patient",
    "sharing.revoke": "patient",
    "sharing.open_link": "public",  # the token is the key; no patient id in the URL
    "inbox.index": "physician",  # the physician's own care team only
    "inbox.summary": "patient",
    "inbox.acknowledge": "patient",
    "inbox.unacknowledged": "clinical",
}


def test_every_route_has_an_access_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), "add new routes to ROUTES with their access rule"


def _patient_urls(app, ids):
    """Yield (method, url) for every patient-scoped rule, filled with the world's ids."""
    for rule in app.url_map.iter_rules():
        if ROUTES.get(rule.endpoint) != "patient":
            continue
        url = rule.rule
        for name, value in ids.items():
            url = url.replace(f"<int:{name}>", str(value))
        assert "<" not in url, f"no id to fill {url}: add it to patient_records()"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def _state(app):
    with app.app_context():
        counts = [
            db.session.scalar(select(func.count()).select_from(m))
            for m in (
                Patient,
                DoseChange,
                Visit,
                MasScore,
                Draft,
                Amendment,
                ShareLink,
                Pump,
                Refill,
            )
        ]
        revoked = select(func.count()).where(ShareLink.revoked_at.is_not(None))
        return (*counts, db.session.scalar(revoked))


HOSTILE_FORM = {
    "mrn": "HACK",
    "family_name": "Hacked",
    "given_name": "X",
    "birth_date": "1970-01-01",
    "sex": "male",
    "diagnosis": "ms",
    "effective_date": "2026-01-01",
    "route": "oral",
    "daily_dose": "20",
    "unit": "mg/day",
    "version": "1",
    "submission_key": "hostile",
}


@pytest.mark.parametrize("outsider", ["other_therapist", "other_physician", "outsider_physician"])
def test_outsiders_get_404_on_every_patient_route(app, clinic_world, patient_records, outsider):
    client = app.test_client()
    client.post("/login", data={"email": clinic_world[outsider].email, "password": _pw()})
    patient = clinic_world["patient"]
    before = _state(app)
    probed = 0
    for method, url in _patient_urls(app, patient_records):
        response = client.open(url, method=method, data=HOSTILE_FORM)
        assert response.status_code == 404, (method, url)
        assert b"NGUYEN" not in response.data and b"MRN-1" not in response.data
        probed += 1
    assert probed >= 13
    assert _state(app) == before
    with app.app_context():
        seen_by_outsider = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.patient_id == patient.id,
                AuditEvent.user_id == clinic_world[outsider].id,
            )
        ).all()
    assert seen_by_outsider == []


def test_anonymous_users_are_sent_to_login(app, patient_records):
    client = app.test_client()
    for method, url in _patient_urls(app, patient_records):
        response = client.open(url, method=method, data=HOSTILE_FORM)
        assert response.status_code == 302, (method, url)
        assert "/login" in response.location


def test_other_clinic_sees_none_of_our_patients_in_search(app, clinic_world):
    client = app.test_client()
    client.post("/login", data={"email": "t@other.test", "password": _pw()})
    listing = client.get("/patients?q=").get_data(as_text=True)
    assert "FISCHER" in listing
    assert "NGUYEN" not in listing
    assert "NGUYEN" not in client.get("/patients?q=MRN-1&partial=1").get_data(as_text=True)


def test_physician_sees_only_care_team_patients(app, clinic_world, make_patient):
    make_patient(clinic_world["home"], mrn="MRN-2", family_name="Offteam")
    client = app.test_client()
    client.post("/login", data={"email": "p@home.test", "password": _pw()})
    listing = client.get("/patients").get_data(as_text=True)
    assert "NGUYEN" in listing
    assert "OFFTEAM" not in listing


def test_admin_sees_no_clinical_pages(app, clinic_world):
    client = app.test_client()
    client.post("/login", data={"email": "a@home.test", "password": _pw()})
    assert client.get("/patients").status_code == 403
    assert client.get(f"/patients/{clinic_world['patient'].id}").status_code == 404


def _pw():
    from tests.conftest import PASSWORD

    return PASSWORD
