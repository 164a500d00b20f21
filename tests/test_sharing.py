"""Send to physician: real SMTP on 127.0.0.1, links that expire, revoke and show one summary."""

import hashlib
import io
import re
import socket
import stat
import threading
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.serving import make_server

from spastic.extensions import db
from spastic.models import AuditEvent, Patient, ShareLink, utcnow
from tests.conftest import PASSWORD
from tests.live_gunicorn import Client

REFERRING = {"referring_name": "Dr Ada Referrer", "referring_email": "ada@referrer.test"}
LINK = re.compile(r"http://localhost(/shared/[A-Za-z0-9_-]+)")


class Mailbox:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.handler.messages.clear()
    return smtp_server.handler.messages


@pytest.fixture
def app_config(request, smtp_server):
    """Mail through the test SMTP server; a test may add settings with indirect parametrize."""
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_server.port,
        "SMTP_STARTTLS": False,
        **getattr(request, "param", {}),
    }


def _signed_visit(client, patient_id: int, sign: bool = True, muscle="elbow_flexors") -> int:
    """Record (and sign) a visit through the app, as a therapist would."""
    draft = client.post(f"/patients/{patient_id}/visits/new").location.split("/")[2]
    page = client.get(f"/drafts/{draft}").get_data(as_text=True)
    key = page.split('name="submission_key" value="', 1)[1].split('"')[0]
    saved = client.post(
        f"/drafts/{draft}",
        data={
            "visit_date": date.today().isoformat(),
            "rater": "Tess Mills",
            "muscles": [muscle],
            f"mas-{muscle}-left": "1+",
            f"mas-{muscle}-right": "3",
            "pain_now": "6",
            "notes": "Walked 20 m with frame.",
            "version": "1",
            "submission_key": key,
        },
    )
    visit_id = int(saved.location.split("/")[2])
    if not sign:
        return visit_id
    signed = client.post(
        f"/visits/{visit_id}/sign",
        data={
            "meaning": "I performed and recorded this assessment",
            "password": PASSWORD,
            "version": "1",
        },
    )
    assert signed.status_code == 302
    return visit_id


@pytest.fixture
def world(app, clinic_world, make_patient):
    """The home patient (with a referring physician) and a second patient, each with a signed
    visit; `therapist` is a logged-in client of the home clinic."""
    with app.app_context():
        patient = db.session.get(Patient, clinic_world["patient"].id)
        patient.referring_name = REFERRING["referring_name"]
        patient.referring_email = REFERRING["referring_email"]
        db.session.commit()
    second = make_patient(
        clinic_world["home"],
        mrn="MRN-2",
        family_name="Offteam",
        care_team=[clinic_world["physician"]],
    )
    therapist = app.test_client()
    therapist.post("/login", data={"email": "t@home.test", "password": PASSWORD})
    return {
        **clinic_world,
        "therapist_client": therapist,
        "visit_id": _signed_visit(therapist, clinic_world["patient"].id),
        "second_visit_id": _signed_visit(therapist, second.id),
    }


def _send(world, recipient: str, visit_key: str = "visit_id"):
    return world["therapist_client"].post(
        f"/visits/{world[visit_key]}/share", data={"recipient": recipient}
    )


def _to_physician(world) -> str:
    return f"user:{world['physician'].id}"


def _client_as(app, user):
    client = app.test_client()
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )
    return client


def _link_path(envelope) -> str:
    return LINK.search(_text_of(envelope)).group(1)


def _text_of(envelope) -> str:
    message = message_from_bytes(envelope.content, policy=policy.default)
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    return headers + "\n" + message.get_body().get_content().replace("\r\n", "\n")


def _audit_actions(app, patient_id: int) -> list[str]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.patient_id == patient_id, AuditEvent.entity == "share_link")
            .order_by(AuditEvent.id)
        ).all()


def _set_link(app, **values) -> None:
    with app.app_context():
        link = db.session.scalar(select(ShareLink))
        for name, value in values.items():
            setattr(link, name, value)
        db.session.commit()


def test_the_email_holds_a_link_and_no_clinical_data(app, world, mailbox):
    response = _send(world, _to_physician(world))
    assert response.status_code == 302
    assert len(mailbox) == 1
    envelope = mailbox[0]
    assert envelope.rcpt_tos == ["p@home.test"]
    text = LINK.sub("LINK", _text_of(envelope))  # the random token may hold any letters
    assert "Subject: A spasticity visit summary from Demo Rehab is available" in text
    assert "Sent by Therapist Demo Rehab, Demo Rehab." in text
    assert "log in to spastic with your account\n(p@home.test)" in text
    for clinical in (
        "Nguyen", "NGUYEN", "Linh", "MRN-1", "1985", "14 Mar", "C6", "Spinal", "sci",
        "Ashworth", "MAS", "1+", "elbow", "Elbow", "pain", "baclofen", "mg", "Walked",
        "Tess Mills",
    ):  # fmt: skip
        assert clinical not in text, clinical
    token = _link_path(envelope).rsplit("/", 1)[1]
    with app.app_context():
        link = db.session.scalar(select(ShareLink))
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr(vars(link))
        assert link.recipient_user_id == world["physician"].id
        assert link.created_by_id == world["therapist"].id
        assert link.expires_at - link.created_at == timedelta(days=14)
        assert f"until {link.expires_at:%-d %b %Y}" in text
    assert _audit_actions(app, world["patient"].id) == ["send_summary"] * 2  # one row per field
    page = world["therapist_client"].get(f"/visits/{world['visit_id']}").get_data(as_text=True)
    assert "Links sent" in page and "Dr On Team" in page and "not yet" in page
    assert f"/share-links/{link.id}/revoke" in page


def test_a_link_opens_its_one_summary_for_its_recipient_only(app, world, mailbox):
    _send(world, _to_physician(world))
    _send(world, "referring")
    to_physician, to_referrer = (_link_path(e) for e in mailbox)
    assert mailbox[1].rcpt_tos == ["ada@referrer.test"]
    assert "log in" not in _text_of(mailbox[1])

    physician = app.test_client()
    asked = physician.get(to_physician)
    assert asked.status_code == 302 and "/login?next=" in asked.location
    logged_in = physician.post(asked.location, data={"email": "p@home.test", "password": PASSWORD})
    assert logged_in.location == to_physician
    page = physician.get(to_physician)  # a page with a button: scanners fetching links open nothing
    assert page.status_code == 200 and "Open the summary" in page.get_data(as_text=True)
    pdf = physician.post(to_physician)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "MRN-1" in text and "MRN-2" not in text and "OFFTEAM" not in text.upper()
    # The token alone names the visit: extra ids are ignored or do not route.
    other_id = world["second_visit_id"]
    assert physician.post(f"{to_physician}?visit_id={other_id}").data == pdf.data
    assert physician.post(f"{to_physician}/{other_id}").status_code == 404

    referrer = app.test_client()
    assert "Open the summary" in referrer.get(to_referrer).get_data(as_text=True)
    alone = referrer.post(to_referrer)
    assert alone.status_code == 200 and alone.data == pdf.data
    assert "Set-Cookie" not in alone.headers
    assert referrer.get("/patients").status_code == 302  # no session came with it
    assert referrer.get(f"/visits/{world['visit_id']}/summary.pdf").status_code == 302

    with app.app_context():
        links = db.session.scalars(select(ShareLink).order_by(ShareLink.id)).all()
        assert [link.open_count for link in links] == [2, 1]
        assert all(link.last_opened_at is not None for link in links)
        opened = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "open_shared_link")
        ).all()
    by_referrer = [e for e in opened if e.new_value == "ada@referrer.test"]
    assert len(by_referrer) == 1 and by_referrer[0].user_id is None
    assert by_referrer[0].patient_id == world["patient"].id
    assert by_referrer[0].clinic_id == world["home"].id
    assert sum(e.user_id == world["physician"].id for e in opened) == 2


def test_an_account_link_refuses_everyone_else(app, world, mailbox):
    _send(world, _to_physician(world))
    path = _link_path(mailbox[0])
    for someone in ("outsider_physician", "other_physician", "other_therapist", "therapist"):
        response = _client_as(app, world[someone]).post(path)
        assert response.status_code == 404, someone
        assert b"%PDF" not in response.data and b"NGUYEN" not in response.data
    with app.app_context():
        patient = db.session.get(Patient, world["patient"].id)
        patient.care_team = []
        db.session.commit()
    assert _client_as(app, world["physician"]).get(path).status_code == 404
    refused = _audit_actions(app, world["patient"].id).count("open_shared_link_refused")
    assert refused == 5
    assert "open_shared_link" not in _audit_actions(app, world["patient"].id)


def test_expired_and_revoked_links_say_so(app, world, mailbox):
    _send(world, "referring")
    path = _link_path(mailbox[0])
    _set_link(app, expires_at=utcnow() - timedelta(minutes=1))
    expired = app.test_client().get(path)
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    assert b"NGUYEN" not in expired.data
    page = world["therapist_client"].get(f"/visits/{world['visit_id']}").get_data(as_text=True)
    assert "Expired" in page

    _set_link(app, expires_at=utcnow() + timedelta(days=1))
    with app.app_context():
        link_id = db.session.scalar(select(ShareLink.id))
    physician = _client_as(app, world["physician"])
    assert physician.post(f"/share-links/{link_id}/revoke").status_code == 403
    revoked = world["therapist_client"].post(f"/share-links/{link_id}/revoke")
    assert revoked.status_code == 302 and revoked.location == f"/visits/{world['visit_id']}"
    gone = app.test_client().get(path)
    assert gone.status_code == 410
    assert "This link was revoked" in gone.get_data(as_text=True)
    page = world["therapist_client"].get(f"/visits/{world['visit_id']}").get_data(as_text=True)
    assert "Revoked" in page and f"/share-links/{link_id}/revoke" not in page
    actions = _audit_actions(app, world["patient"].id)
    assert actions.count("revoke_share_link") == 1
    assert actions.count("open_shared_link_refused") == 2


def test_only_signed_visits_go_to_physicians_on_record(app, world, mailbox):
    client = world["therapist_client"]
    # Another muscle than the signed visit's: no carried grades to confirm.
    unsigned = _signed_visit(client, world["patient"].id, sign=False, muscle="knee_flexors")
    refused = client.post(f"/visits/{unsigned}/share", data={"recipient": _to_physician(world)})
    assert refused.status_code == 409
    physician = _client_as(app, world["physician"])  # on the care team, but reads only
    visit_id = world["visit_id"]
    assert (
        physician.post(f"/visits/{visit_id}/share", data={"recipient": "referring"}).status_code
        == 403
    )
    strangers = (world["outsider_physician"], world["other_physician"], world["therapist"])
    for choice in [*(f"user:{user.id}" for user in strangers), "user:", "", "referring "]:
        refused = _send(world, choice)
        assert refused.status_code == 422, choice
        assert "Choose the physician who should receive the summary." in refused.get_data(
            as_text=True
        )
    with app.app_context():
        assert db.session.scalar(select(ShareLink)) is None
    assert mailbox == []


@pytest.mark.parametrize("app_config", [{"SMTP_HOST": ""}], indirect=True)
def test_without_a_mail_server_the_email_goes_to_the_outbox(app, world, mailbox, tmp_path):
    outbox = tmp_path / "outbox"
    app.config["OUTBOX_FOLDER"] = str(outbox)
    response = _send(world, "referring")
    assert response.status_code == 302
    assert mailbox == []
    (written,) = outbox.glob("*.eml")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert message["To"] == "ada@referrer.test"
    assert LINK.search(message.get_body().get_content())
    page = world["therapist_client"].get(f"/visits/{world['visit_id']}").get_data(as_text=True)
    assert "saved in the outbox folder, not sent" in page


def test_a_mail_server_that_is_down_shares_nothing(app, world, mailbox):
    app.config["SMTP_PORT"] = _free_port()
    response = _send(world, _to_physician(world))
    assert response.status_code == 503
    assert "The email could not be sent" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ShareLink)) is None
    assert "send_summary" not in _audit_actions(app, world["patient"].id)


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "SHARE_LINK_RATE_LIMIT": "3 per minute"}],
    indirect=True,
)
def test_the_public_link_is_rate_limited(client):
    assert [client.get("/shared/not-a-token").status_code for _ in range(4)] == [404] * 3 + [429]


def _share_form(world) -> dict:
    """The visit page's "Send to physician" form as the tablet shows it (with its key)."""
    page = world["therapist_client"].get(f"/visits/{world['visit_id']}").get_data(as_text=True)
    key = page.split('name="submission_key" value="', 1)[1].split('"', 1)[0]
    return {"recipient": _to_physician(world), "submission_key": key}


def test_the_same_form_sent_again_shares_once(app, world, mailbox):
    form = _share_form(world)
    first = world["therapist_client"].post(f"/visits/{world['visit_id']}/share", data=form)
    again = world["therapist_client"].post(f"/visits/{world['visit_id']}/share", data=form)
    assert first.status_code == again.status_code == 302
    assert again.location == first.location
    page = world["therapist_client"].get(again.location).get_data(as_text=True)
    assert "This form was sent already: Dr On Team gets one email." in page
    assert len(mailbox) == 1
    with app.app_context():
        assert db.session.scalars(select(ShareLink.submission_key)).all() == [
            form["submission_key"]
        ]
    # A new form (a new key) is a new, deliberate sending.
    assert _send(world, _to_physician(world)).status_code == 302
    assert len(mailbox) == 2


def test_concurrent_sends_of_one_form_make_one_link_and_one_email(app, world, mailbox):
    """Three taps at once, against a live threaded server: one link, one email, one audit."""
    form = _share_form(world)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        tablet = Client(server.port)
        assert tablet.post("/login", {"email": "t@home.test", "password": PASSWORD}).status == 302
        barrier = threading.Barrier(3)
        answers = []

        def tap():
            client = Client(server.port)
            client.cookies = dict(tablet.cookies)
            barrier.wait(timeout=10)
            answers.append(client.post(f"/visits/{world['visit_id']}/share", form).status)

        taps = [threading.Thread(target=tap) for _ in range(3)]
        for thread in taps:
            thread.start()
        for thread in taps:
            thread.join(timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert answers == [302, 302, 302]
    assert len(mailbox) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ShareLink)) == 1
    assert _audit_actions(app, world["patient"].id) == ["send_summary"] * 2  # one row per field


PRODUCTION = {
    "ENV_NAME": "production",
    "SECRET_KEY": "production-secret-" + "x" * 32,
    "AUDIT_KEY": "production-audit-key-" + "y" * 32,
}
EVIL_HOST = "spastic-login.evil.example"


def _send_through_host(app, world, host: str):
    """Log in and send the summary with every request naming `host` as the server."""
    client = app.test_client()
    login = client.post(
        "/login", data={"email": "t@home.test", "password": PASSWORD}, headers={"Host": host}
    )
    assert login.status_code == 302
    return client.post(
        f"/visits/{world['visit_id']}/share",
        data={"recipient": _to_physician(world)},
        headers={"Host": host},
    )


@pytest.mark.parametrize("app_config", [PRODUCTION], indirect=True)
def test_production_without_public_url_sends_no_link(app, world, mailbox):
    """The request's Host is the sender's to choose: no link is built from it in production."""
    response = _send_through_host(app, world, EVIL_HOST)
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "Links cannot be emailed yet" in text and "SPASTIC_PUBLIC_URL" in text
    assert "Visit of" in text  # the visit page, with the message in its panel
    assert mailbox == []
    with app.app_context():
        assert db.session.scalar(select(ShareLink)) is None
    assert _audit_actions(app, world["patient"].id) == []


@pytest.mark.parametrize(
    "app_config", [{**PRODUCTION, "PUBLIC_URL": "https://spastic.example.org/"}], indirect=True
)
def test_production_links_use_the_public_url_whatever_the_host(app, world, mailbox):
    response = _send_through_host(app, world, EVIL_HOST)
    assert response.status_code == 302
    text = _text_of(mailbox[0])
    assert re.search(r"https://spastic\.example\.org/shared/[A-Za-z0-9_-]{43}\b", text)
    assert "evil.example" not in text
