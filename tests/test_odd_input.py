"""Odd input is a 4xx, never a 500: bodies no form sends, and MRNs outside Latin-1.

The PDF tests go through a real HTTP server (Werkzeug's, as gunicorn, writes headers as
Latin-1): the test client never encodes a header, so it would not see the failure.
"""

import http.client
import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from spastic.extensions import db
from spastic.models import AuditEvent, DoseChange, Patient, ShareLink, User, Visit
from spastic.sharing import links
from tests.conftest import PASSWORD

ODD_BODIES = {
    "list": ("application/json", b"[1]"),
    "number": ("application/json", b"1"),
    "string": ("application/json", b'"x"'),
    "malformed": ("application/json", b'{"email": '),
    "deeply nested": ("application/json", b"[" * 100_000 + b"]" * 100_000),
    "an object": ("application/json", b'{"email": "t@home.test", "password": "x"}'),
    "plain text": ("text/plain", b"email=t@home.test"),
    "xml": ("application/xml", b"<login/>"),
}


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def _start(client, patient_id) -> int:
    response = client.get(f"/patients/{patient_id}/visits/new")
    if response.status_code == 405:
        response = client.post(f"/patients/{patient_id}/visits/new")
    return int(response.location.split("/")[2])


def _signed_visit(client, patient_id) -> int:
    draft_id = _start(client, patient_id)
    page = client.get(f"/drafts/{draft_id}").get_data(as_text=True)
    saved = client.post(
        f"/drafts/{draft_id}",
        data={
            "visit_date": date.today().isoformat(),
            "rater": "Tess Mills",
            "muscles": ["elbow_flexors"],
            "mas-elbow_flexors-left": "2",
            "version": _hidden(page, "version"),
            "submission_key": _hidden(page, "submission_key"),
        },
    )
    visit_id = int(saved.location.split("/")[2])
    detail = client.get(f"/visits/{visit_id}/review").get_data(as_text=True)
    client.post(
        f"/visits/{visit_id}/sign",
        data={
            "meaning": "I performed and recorded this assessment",
            "password": PASSWORD,
            "version": _hidden(detail, "version"),
        },
    )
    return visit_id


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _paths(client, clinic_world) -> dict[str, str]:
    patient_id = clinic_world["patient"].id
    return {
        "login": "/login",
        "new patient": "/patients/new",
        "patient edit": f"/patients/{patient_id}/edit",
        "dose change": f"/patients/{patient_id}/doses/new",
        "visit form": f"/drafts/{_start(client, patient_id)}",
        "password change": "/account/password",
    }


def _writes(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Patient, DoseChange, Visit)
        )


@pytest.mark.parametrize(
    "form", ["login", "new patient", "patient edit", "dose change", "visit form", "password change"]
)
@pytest.mark.parametrize("body", ODD_BODIES)
def test_a_body_no_form_sends_is_refused_with_a_message(app, therapist, clinic_world, form, body):
    path = _paths(therapist, clinic_world)[form]
    content_type, data = ODD_BODIES[body]
    before = _writes(app)
    response = therapist.post(path, data=data, content_type=content_type)
    assert response.status_code == 415
    assert "was not sent by one of the app" in response.get_data(as_text=True)
    assert _writes(app) == before


def test_an_odd_body_to_autosave_answers_json(app, therapist, clinic_world):
    draft_id = _start(therapist, clinic_world["patient"].id)
    response = therapist.post(
        f"/drafts/{draft_id}/autosave",
        data=b"[1]",
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 415
    assert response.get_json()["saved"] is False
    assert "nothing was saved" in response.get_json()["error"]


def test_an_odd_body_with_csrf_on_is_refused_too(app, clinic_world):
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/login", data=b"[1]", content_type="application/json")
    assert response.status_code in (400, 415)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.fixture
def served(app):
    """Serve the app on 127.0.0.1 with Werkzeug's server; yield a function making requests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def request(method: str, path: str, cookie: str = "", body: bytes = b""):
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response, response.read()

    yield request
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


OMEGA = "\u03a9MEGA-1"


@pytest.fixture
def omega_visit(app, make_patient, clinic_world, therapist):
    patient = make_patient(
        clinic_world["home"],
        mrn=OMEGA,
        family_name="\u041f\u0435\u0442\u0440\u043e\u0432",
        referring_name="Dr Ada Referrer",
        referring_email="ada@referrer.test",
    )
    return patient, _signed_visit(therapist, patient.id)


def _cookie(client) -> str:
    cookie = client.get_cookie("spastic_session")
    return f"spastic_session={cookie.value}"


def test_a_pdf_for_a_non_latin1_mrn_downloads(app, therapist, omega_visit, served):
    _patient, visit_id = omega_visit
    response, body = served("GET", f"/visits/{visit_id}/summary.pdf", _cookie(therapist))
    assert response.status == 200
    assert body.startswith(b"%PDF-")
    disposition = response.getheader("Content-Disposition")
    today = date.today().isoformat()
    assert disposition == (
        f"inline; filename=summary-MEGA-1-{today}.pdf; "
        f"filename*=UTF-8''summary-%CE%A9MEGA-1-{today}.pdf"
    )
    with app.app_context():
        downloads = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "download_pdf")
        ).all()
    assert [e.entity_id for e in downloads] == [visit_id]


def test_the_filename_is_the_same_through_the_test_client(therapist, omega_visit):
    _patient, visit_id = omega_visit
    response = therapist.get(f"/visits/{visit_id}/summary.pdf")
    disposition = response.headers["Content-Disposition"]
    disposition.encode("ascii")
    assert "filename*=UTF-8''summary-%CE%A9MEGA-1-" in disposition


def test_a_share_link_for_a_non_latin1_mrn_opens_and_counts_once(app, omega_visit, served):
    patient, visit_id = omega_visit
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        recipient = links.recipient_by_key(db.session.get(Patient, patient.id), "referring")
        sender = db.session.scalar(select(User).where(User.email == "t@home.test"))
        link, token = links.new_link(visit, recipient, sender, 14, "odd-input-link")
        db.session.add(link)
        db.session.commit()
        link_id = link.id
    page, html = served("GET", f"/shared/{token}")
    assert page.status == 200 and b"Open the summary" in html
    response, body = served("POST", f"/shared/{token}")
    assert response.status == 200
    assert body.startswith(b"%PDF-")
    assert "filename*=UTF-8''summary-%CE%A9MEGA-1-" in response.getheader("Content-Disposition")
    with app.app_context():
        assert db.session.get(ShareLink, link_id).open_count == 1
        opened = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "open_shared_link")
        )
    assert opened == 1
