"""A signed summary is frozen: one stored PDF per version, the same bytes everywhere, and
computed from what was known at signing (later entries never change it)."""

import base64
import hashlib
import json
import re

from sqlalchemy import delete, select

from spastic.extensions import db
from spastic.models import SummaryDocument
from tests.conftest import PASSWORD
from tests.test_fhir import _valid
from tests.test_summary_pdf import _text, _visit
from tests.test_visits import _visit_data

SHARED_LINK = re.compile(r"/shared/([A-Za-z0-9_-]+)")


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _stored(app, visit_id):
    with app.app_context():
        rows = db.session.scalars(
            select(SummaryDocument)
            .where(SummaryDocument.visit_id == visit_id)
            .order_by(SummaryDocument.version)
        ).all()
        return [(row.version, row.sha256, bytes(row.pdf)) for row in rows]


def _fhir_sha(client, patient_id, visit_id) -> tuple[str, str]:
    """The SHA-256 the FHIR DocumentReference of this visit's current summary names, its URL."""
    bundle = json.loads(client.get(f"/patients/{patient_id}/fhir").data)
    (reference,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
        and e["resource"]["status"] == "current"
        and e["resource"]["content"][0]["attachment"]["url"]
        .split("?")[0]
        .endswith(f"/visits/{visit_id}/summary.pdf")
    ]
    ni = reference["masterIdentifier"]["value"].removeprefix("ni:///sha-256;")
    digest = base64.urlsafe_b64decode(ni + "=" * (-len(ni) % 4)).hex()
    return digest, reference["content"][0]["attachment"]["url"]


def _share_and_open(app, therapist, visit_id, physician_id, tmp_path):
    for old in tmp_path.glob("*.eml"):
        old.unlink()
    therapist.post(f"/visits/{visit_id}/share", data={"recipient": f"user:{physician_id}"})
    (email,) = tmp_path.glob("*.eml")
    token = SHARED_LINK.search(email.read_text()).group(1)
    physician = app.test_client()
    physician.post("/login", data={"email": "p@home.test", "password": PASSWORD})
    return lambda: physician.post(f"/shared/{token}").data


def test_one_pdf_per_version_served_alike_and_unchanged_by_later_entries(
    app, client, auth, clinic_world, tmp_path
):
    auth.login(clinic_world["therapist"])
    therapist = client
    pid = clinic_world["patient"].id  # oral 30 mg/day from 5 Jan 2026
    visit_id = _visit(therapist, pid, visit_date="2026-01-10")
    [(version, sha, signed_copy)] = _stored(app, visit_id)
    assert version == 1 and sha == _sha(signed_copy)
    open_link = _share_and_open(app, therapist, visit_id, clinic_world["physician"].id, tmp_path)
    served = {
        "download": therapist.get(f"/visits/{visit_id}/summary.pdf").data,
        "version 1": therapist.get(f"/visits/{visit_id}/summary.pdf?version=1").data,
        "share link": open_link(),
    }
    assert {name: _sha(body) for name, body in served.items()} == dict.fromkeys(served, sha)
    assert _fhir_sha(therapist, pid, visit_id)[0] == sha
    signed_text = _text(signed_copy)
    assert "30 mg/day" in signed_text

    # Later entries: a dose change dated after the visit, one back-dated before it (entered
    # after the signing), and a later signed visit.
    for key, when, dose in (("later", "2026-03-01", "60"), ("backdated", "2026-01-08", "45")):
        change = {"effective_date": when, "route": "oral", "daily_dose": dose, "unit": "mg/day"}
        change |= {"submission_key": key, "reason": "titration"}
        assert therapist.post(f"/patients/{pid}/doses/new", data=change).status_code == 302
    later_visit = _visit(therapist, pid, visit_date="2026-03-10")
    assert _stored(app, visit_id) == [(1, sha, signed_copy)]
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").data == signed_copy
    assert open_link() == signed_copy
    assert _fhir_sha(therapist, pid, visit_id)[0] == sha
    assert "60 mg/day" in _text(therapist.get(f"/visits/{later_visit}/summary.pdf").data)

    # Even without its stored copy, version 1 is computed from what was known at signing.
    with app.app_context():
        db.session.execute(delete(SummaryDocument).where(SummaryDocument.visit_id == visit_id))
        db.session.commit()
    rerendered = therapist.get(f"/visits/{visit_id}/summary.pdf").data
    assert _text(rerendered) == signed_text
    assert "45 mg/day" not in signed_text and "60 mg/day" not in signed_text


def test_an_amendment_is_a_new_numbered_version_and_the_first_stays(
    app, client, auth, clinic_world, tmp_path
):
    auth.login(clinic_world["therapist"])
    therapist = client
    pid = clinic_world["patient"].id
    visit_id = _visit(therapist, pid, visit_date="2026-01-10", notes="Stiff mornings.")
    [(_, first_sha, first)] = _stored(app, visit_id)
    open_link = _share_and_open(app, therapist, visit_id, clinic_world["physician"].id, tmp_path)
    change = {"effective_date": "2026-01-08", "route": "oral", "daily_dose": "45"}
    change |= {"unit": "mg/day", "submission_key": "between", "reason": "titration"}
    therapist.post(f"/patients/{pid}/doses/new", data=change)
    page = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(page, notes="Stiff mornings and evenings.", visit_date="2026-01-10")
    data.update(reason="Transcription error", password=PASSWORD, submission_key="amend-v2")
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    stored = _stored(app, visit_id)
    assert [(v, s) for v, s, _ in stored] == [(1, first_sha), (2, _sha(stored[1][2]))]
    second = stored[1][2]
    second_text = " ".join(_text(second).split())
    assert "Summary version 2" in second_text and "Transcription error" in second_text
    assert "Stiff mornings and evenings." in second_text
    # The amendment corrects the visit; what else was known stays as at signing.
    assert "45 mg/day" not in second_text and "30 mg/day" in second_text
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").data == second
    assert therapist.get(f"/visits/{visit_id}/summary.pdf?version=1").data == first
    assert therapist.get(f"/visits/{visit_id}/summary.pdf?version=3").status_code == 404
    assert open_link() == second
    digest, url = _fhir_sha(therapist, pid, visit_id)
    assert digest == _sha(second) and url.endswith("?version=2")
    bundle = _valid(therapist.get(f"/patients/{pid}/fhir").get_json(force=True))
    references = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert [r["status"] for r in references] == ["superseded", "current"]
    assert references[1]["relatesTo"][0]["code"] == "replaces"
    assert references[1]["relatesTo"][0]["target"]["reference"] == f"urn:uuid:{references[0]['id']}"
    page = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    versions = page.split('id="summary-versions"', 1)[1]
    assert f"/visits/{visit_id}/summary.pdf?version=1" in versions
    assert f"/visits/{visit_id}/summary.pdf?version=2" in versions
    assert "Transcription error" in versions and first_sha[:12] in versions
