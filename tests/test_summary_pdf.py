"""The PDF visit summary, read back: content, pages, PDF/A-3a, its one FHIR attachment."""

import io
import json
import re
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import SummaryDocument
from tests.conftest import PASSWORD
from tests.test_visits import _start, _visit_data

HOSTILE_NOTES = (
    '<script>alert(1)</script><img src="file:///etc/passwd">'
    '<link rel="attachment" href="file:///etc/hostname">'
    '<style>@import url("file:///etc/passwd");</style> file:///etc/passwd'
)


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _visit(client, patient_id, sign=True, **extra):
    draft_id, page = _start(client, patient_id)
    data = _visit_data(page, **extra)
    data.update({k: "kept" for k in (f"carry-{m}" for m in _carried(page))})
    visit_id = int(client.post(f"/drafts/{draft_id}", data=data).location.split("/")[2])
    if sign:
        meaning = "I performed and recorded this assessment"
        sign = {"meaning": meaning, "password": PASSWORD, "version": "1"}
        client.post(f"/visits/{visit_id}/sign", data=sign)
    return visit_id


def _carried(page):
    return re.findall(r'name="carry-([a-z_]+-(?:left|right))" value="pending"', page)


def _text(pdf_bytes):
    """The text of each page in drawing order (`pdftotext -raw`: a table cell's lines stay
    together, unlike its layout mode with columns side by side), pages ended by form feeds.
    Poppler, not pypdf: the 81 tests that read summaries back took about a tenth less time."""
    drawn = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"],
        input=pdf_bytes,
        capture_output=True,
        check=True,
    )
    return drawn.stdout.decode()


def test_signed_summary_content_and_archival_form(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    _visit(therapist, pid, **{"mas-elbow_flexors-left": "3", "pain_now": "6"})
    visit_id = _visit(therapist, pid, notes="Stiff mornings. Müller says hi.")
    response = therapist.get(f"/visits/{visit_id}/summary.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.data
    text = _text(body)
    pages = text.split("\f")[:-1]
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) == len(pages) >= 1
    for page in pages:  # name and MRN and page X of Y on every page
        assert "NGUYEN, Linh · MRN MRN-1" in page
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert "DRAFT" not in text
    flat = " ".join(text.split())
    # The MAS grid: per muscle, left then right: this visit, previous, baseline, the changes.
    # Carried (kept, not re-examined) grades are marked: elbow right and knee left here.
    assert "Elbow flexors 1+ 3 3 -2 -2 ▼ 2† 2 2 0 0" in flat
    assert "Knee flexors (hamstrings) 3† 3 3 0 0 - - - - -" in flat  # right side not assessed
    assert "† carried from" in flat and "not re-examined" in flat
    assert "30 mg/day oral" in flat
    assert "Pain now 6 4 -2 (-33%) Clinically important" in flat
    assert "Stiff mornings. Müller says hi." in flat
    assert "I performed and recorded this assessment" in flat
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="A"' in xmp
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    attachments = reader.attachments
    assert list(attachments) == ["visit-fhir-r4.json"]
    bundle = json.loads(attachments["visit-fhir-r4.json"][0])
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    grades = {
        (
            e["resource"]["bodySite"]["text"]
            if "bodySite" in e["resource"] and "text" in e["resource"]["bodySite"]
            else None
        ): e["resource"]["valueCodeableConcept"]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and "valueCodeableConcept" in e["resource"]
    }
    assert sorted(grades.values()) == sorted(["1+", "2", "3"])


def test_signer_and_flags_are_printed(app, therapist, clinic_world, make_patient):
    from datetime import date

    patient = make_patient(
        clinic_world["home"],
        mrn="MRN-9",
        family_name="Schmidt",
        egfr=24,
        egfr_date=date(2026, 1, 1),
        doses=[(date(2026, 1, 5), "oral", 30)],
    )
    visit_id = _visit(therapist, patient.id)
    flat = " ".join(_text(therapist.get(f"/visits/{visit_id}/summary.pdf").data).split())
    assert "Warning" in flat and "AJKD 2017" in flat and "eGFR" in flat
    assert re.search(r"Signed by Therapist Demo Rehab on \d+ \w+ \d{4} \d\d:\d\d UTC", flat)


def test_unsigned_summary_is_marked_draft_on_every_page(therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id, sign=False)
    text = _text(therapist.get(f"/visits/{visit_id}/summary.pdf").data)
    pages = text.split("\f")[:-1]
    assert pages and all("DRAFT - not signed" in page for page in pages)


def test_hostile_notes_render_as_text_and_fetch_nothing(therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id, notes=HOSTILE_NOTES)
    body = therapist.get(f"/visits/{visit_id}/summary.pdf").data
    reader = PdfReader(io.BytesIO(body))
    assert list(reader.attachments) == ["visit-fhir-r4.json"]
    flat = " ".join(_text(body).split())
    assert "<script>alert(1)</script>" in flat
    assert "root:x:0:0" not in flat
    with open("/etc/hostname") as f:
        hostname = f.read().strip()
    assert hostname not in str(reader.attachments)
    assert len(reader.pages) <= 3


def test_signed_summary_is_stored_once_and_served_again(app, therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id)
    first = therapist.get(f"/visits/{visit_id}/summary.pdf").data
    second = therapist.get(f"/visits/{visit_id}/summary.pdf").data
    assert first == second
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SummaryDocument)) == 1


def test_care_team_physician_reads_outsider_gets_404(app, therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id)
    physician = app.test_client()
    physician.post("/login", data={"email": "p@home.test", "password": PASSWORD})
    assert physician.get(f"/visits/{visit_id}/summary.pdf").data.startswith(b"%PDF")
    outsider = app.test_client()
    outsider.post("/login", data={"email": "p2@home.test", "password": PASSWORD})
    assert outsider.get(f"/visits/{visit_id}/summary.pdf").status_code == 404


def test_clinic_setting_letter_paper_and_time_zone(app, therapist, clinic_world):
    admin = app.test_client()
    admin.post("/login", data={"email": "a@home.test", "password": PASSWORD})
    scheduling = {
        "refill_margin_days": "7",
        "review_interval_days": "90",
        "review_after_dose_change_days": "14",
        "acknowledge_within_days": "7",
    }
    saved = admin.post(
        "/admin/clinic", data={"paper_size": "Letter", "timezone": "Europe/Berlin", **scheduling}
    )
    assert saved.status_code == 302
    bad = admin.post("/admin/clinic", data={"paper_size": "A3", "timezone": "Mars/Olympus"})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)
    visit_id = _visit(therapist, clinic_world["patient"].id)
    body = therapist.get(f"/visits/{visit_id}/summary.pdf").data
    box = PdfReader(io.BytesIO(body)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    flat = " ".join(_text(body).split())
    assert re.search(r"Signed by .* \d\d:\d\d CES?T", flat)


def test_simultaneous_first_downloads_store_one_copy(app, therapist, clinic_world):
    import threading

    visit_id = _visit(therapist, clinic_world["patient"].id)
    cookie = therapist.get_cookie("spastic_session").value
    statuses = []

    def download():
        client = app.test_client()
        client.set_cookie("spastic_session", cookie)
        statuses.append(client.get(f"/visits/{visit_id}/summary.pdf").status_code)

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SummaryDocument)) == 1


def test_the_summary_is_stored_at_signing_and_frozen(app, therapist, clinic_world):
    """Stored when signed, not when downloaded; a later dose change leaves its bytes alone; an
    amendment stores a new version, which is then the one served."""
    pid = clinic_world["patient"].id
    visit_id = _visit(therapist, pid)
    with app.app_context():
        stored = db.session.scalars(select(SummaryDocument)).all()
        assert [d.visit_id for d in stored] == [visit_id]
        signed_copy = stored[0].pdf
    later = {"effective_date": date.today().isoformat(), "route": "oral", "daily_dose": "45"}
    later |= {"unit": "mg/day", "submission_key": "later-change"}
    assert therapist.post(f"/patients/{pid}/doses/new", data=later).status_code == 302
    assert therapist.get(f"/visits/{visit_id}/summary.pdf").data == signed_copy
    page = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(page, notes="Corrected: stiffer in the mornings.")
    data.update(reason="Transcription error", password=PASSWORD, submission_key="amend-1")
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    amended = therapist.get(f"/visits/{visit_id}/summary.pdf").data
    assert amended != signed_copy
    assert "Corrected: stiffer in the mornings." in " ".join(_text(amended).split())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SummaryDocument)) == 2
