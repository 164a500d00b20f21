"""Script and markup in every free-text field: escaped on every page, inert in the PDF.

Each payload is stored through the app's own forms in every free-text field (patient names,
MRN, diagnosis detail, referring physician, dose schedule/formulation/reason, visit rater,
notes, other side effect, amendment reason, a user's name), each value tagged with its field so
a page can be checked field by field. Every page that shows them must print the escaped text,
never the raw markup, and must hold no element or attribute the payload could have injected.
The signed visit's PDF must show the payload as text, carry exactly one attachment (the FHIR
JSON), and neither read a local file nor fetch anything over the network.

Two kinds of text only PostgreSQL would refuse, on both databases: a NUL character in any field
is refused with a 400 that says why, and nothing is stored; an over-long hidden submission key
is cut to the column's length. Neither may end in a 500.
"""

import io
import re
import subprocess
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import select

from spastic.extensions import db
from spastic.models import Amendment, DoseChange, Draft, Patient, User, Visit
from spastic.visits.signing import SIGNATURE_MEANINGS
from tests.conftest import PASSWORD, PASSWORD_HASH
from tests.test_visits import _start, _visit_data

NEW_PASSWORD = "kettle-orbit-window-9"
PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img": '"><img src=x onerror=alert(1)>',
    "js-url": "javascript:alert(1)",
    "template": "{{7*7}}{% raw %}${7*7}",
    "svg": "<svg onload=alert(1)>",
    "textarea": "</textarea><script>alert(1)</script>",
    "link": "<link rel=attachment href=file:///etc/passwd>",
    "import": "<style>@import url(file:///etc/passwd);</style>",
    "iframe": "<iframe src=file:///etc/passwd></iframe>",
    "css-url": "<p style=\"background:url('file:///etc/hostname')\">x</p>",
    "remote": '<img src="{listener}/img"><link rel=stylesheet href="{listener}/css">',
    "local-file": '<link rel=attachment href="file://{secret}"><img src="file://{secret}">',
}
SECRET = "SECRET-3f9c1e"  # the content of a local file the payloads point at
# field -> length limit; each stored value is f"{tag}:{payload}", cut to the field's limit.
FIELDS = {
    "mrn": 40,
    "family_name": 100,
    "given_name": 100,
    "diagnosis_detail": 200,
    "referring_name": 120,
    "schedule": 120,
    "formulation": 120,
    "dose_reason": 300,
    "rater": 120,
    "notes": 5000,
    "side_effect_other_detail": 200,
    "amendment_reason": 1000,
    "user_name": 120,
}
PATIENT_TEXT = ("mrn", "family_name", "given_name", "diagnosis_detail", "referring_name")
VISIT_TEXT = ("rater", "notes", "side_effect_other_detail")
# page -> the fields it prints (family names are printed in capitals as well).
PAGES = {
    "patient list": ("mrn", "family_name", "given_name", "user_name"),
    "live search": ("mrn", "family_name", "given_name"),
    "patient": (*PATIENT_TEXT, "schedule", "formulation", "dose_reason", "rater", "user_name"),
    "patient edit form": PATIENT_TEXT,
    "dose form": ("mrn", "family_name", "given_name"),
    "trend": ("mrn", "family_name", "given_name"),
    "visit": ("mrn", "family_name", *VISIT_TEXT[1:], "amendment_reason", "user_name"),
    "amend form": ("mrn", "family_name", *VISIT_TEXT),
    "visit form": ("mrn", "family_name", *VISIT_TEXT),
    "users": ("user_name",),
}
PDF_FIELDS = ("mrn", "family_name", "rater", "notes", "amendment_reason", "user_name")


@pytest.fixture
def bait(tmp_path):
    """A local web server that records requests, and a local file: neither may be read."""
    hits: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(SECRET.encode())

        def log_message(self, *args):
            pass

    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"listener": f"http://127.0.0.1:{server.server_port}", "secret": str(secret)}, hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def tagged_values(*payloads: str) -> dict[str, str]:
    """A value for every free-text field: its tag, then a payload (in turn), cut to fit."""
    return {
        name: f"{name[:2].upper()}{i}:{payloads[i % len(payloads)]}"[:limit]
        for i, (name, limit) in enumerate(FIELDS.items())
    }


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" (?:type="hidden" )?value="([^"]*)"', page).group(1)


def login_client(app, email, password=PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def store_everywhere(app, values: dict, admin: tuple[str, str], physician_id: int) -> dict:
    """Put the values in every free-text field through the forms; return the pages' URLs.

    The admin creates a user named with `values["user_name"]` (email hostile@home.test, the
    fixtures' password), who registers a patient and records, signs and amends a visit.
    """
    admin = login_client(app, *admin)
    made = admin.post(
        "/admin/users/new",
        data={
            "name": values["user_name"],
            "email": "hostile@home.test",
            "role": "therapist",
            "password": NEW_PASSWORD,
        },
    )
    assert made.status_code == 302
    with app.app_context():  # the fixtures' cheap hash: sign and amend check it again
        user = db.session.scalar(select(User).where(User.email == "hostile@home.test"))
        user.password_hash = PASSWORD_HASH
        db.session.commit()
    client = login_client(app, "hostile@home.test")
    patient = {name: values[name] for name in PATIENT_TEXT}
    patient.update(birth_date="1970-05-01", sex="other", diagnosis="other", sci_level="")
    patient["care_team"] = str(physician_id)
    created = client.post("/patients/new", data=patient)
    assert created.status_code == 302, created.get_data(as_text=True)
    pid = int(created.location.split("/")[2])
    dose = {
        "effective_date": "2026-01-02",
        "route": "oral",
        "daily_dose": "20",
        "unit": "mg/day",
        "schedule": values["schedule"],
        "formulation": values["formulation"],
        "reason": values["dose_reason"],
    }
    assert client.post(f"/patients/{pid}/doses/new", data=dose).status_code == 302
    visit_id = _signed_visit(client, pid, values)
    _amend(client, visit_id, values)
    draft_id, page = _start(client, pid)
    autosaved = client.post(f"/drafts/{draft_id}/autosave", data=_visit_fields(page, values))
    assert autosaved.status_code == 200
    query = values["mrn"][:8]
    return {
        "client": client,
        "admin": admin,
        "visit_id": visit_id,
        "pages": {
            "patient list": "/patients",
            "live search": f"/patients?partial=1&q={query}",
            "patient": f"/patients/{pid}",
            "patient edit form": f"/patients/{pid}/edit",
            "dose form": f"/patients/{pid}/doses/new",
            "trend": f"/patients/{pid}/trend",
            "visit": f"/visits/{visit_id}",
            "amend form": f"/visits/{visit_id}/amend",
            "visit form": f"/drafts/{draft_id}",
            "users": "/admin/users",
        },
    }


def _visit_fields(page: str, values: dict, **extra) -> dict:
    data = _visit_data(page, **{"se-other": "mild"}, **extra)
    data.update({name: values[name] for name in VISIT_TEXT})
    return data


def _signed_visit(client, pid: int, values: dict) -> int:
    draft_id, page = _start(client, pid)
    saved = client.post(f"/drafts/{draft_id}", data=_visit_fields(page, values))
    assert saved.status_code == 302, saved.get_data(as_text=True)
    visit_id = int(saved.location.split("/")[2])
    meaning = {"meaning": SIGNATURE_MEANINGS[0], "password": PASSWORD, "version": "1"}
    assert client.post(f"/visits/{visit_id}/sign", data=meaning).status_code == 302
    return visit_id


def _amend(client, visit_id: int, values: dict) -> None:
    page = client.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_fields(page, values, pain_now="2")
    data.update(
        reason=values["amendment_reason"],
        password=PASSWORD,
        submission_key=_hidden(page, "submission_key"),
    )
    assert client.post(f"/visits/{visit_id}/amend", data=data).status_code == 302


class _Elements(HTMLParser):
    """Collect every start tag with its attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def injected_elements(html: str) -> list[str]:
    """Name every element or attribute on the page that only a payload would have made."""
    parser = _Elements()
    parser.feed(html)
    found = []
    for tag, attrs in parser.tags:
        handlers = [k for k in attrs if k.startswith("on")]
        if handlers:
            found.append(f"<{tag} {handlers}>")
        for key in ("href", "src", "action", "formaction"):
            if re.sub(r"\s", "", attrs.get(key, "")).lower().startswith(("javascript:", "file:")):
                found.append(f"<{tag} {key}={attrs[key]}>")
        if tag in ("iframe", "style", "object", "embed", "base"):
            found.append(f"<{tag}>")
        own = {"script": "src", "link": "href", "img": "src"}.get(tag)
        if own and not attrs.get(own, "").startswith(("/static/", "data:image/")):
            found.append(f"<{tag} {own}={attrs.get(own)!r}>")
        if "style" in attrs and "url(" in attrs["style"]:
            found.append(f"<{tag} style=url()>")
    return found


def _page_problems(name: str, html: str, values: dict) -> list[str]:
    problems = [f"{name}: {element}" for element in injected_elements(html)]
    for field in PAGES[name]:
        value = values[field]
        shown = [str(escape(v)) for v in (value, value.upper())]
        if not any(s in html for s in shown):
            problems.append(f"{name}: {field} not shown escaped")
        raw = [v for v in (value, value.upper()) if str(escape(v)) != v]
        problems += [f"{name}: {field} printed raw" for v in raw if v in html]
    return problems


def _text(pdf: bytes) -> str:
    """pdftotext's reading order and pypdf's drawing order, both: with table cells side by
    side (the summary's identity block) pdftotext interleaves a long cell's wrapped lines
    with its neighbour's; pypdf keeps a cell's lines together."""
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    drawn = "".join(page.extract_text() + "\f" for page in PdfReader(io.BytesIO(pdf)).pages)
    return done.stdout.decode() + "\f" + drawn


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pdf_problems(pdf: bytes, values: dict) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    problems = []
    if list(reader.attachments) != ["visit-fhir-r4.json"]:
        problems.append(f"attachments: {list(reader.attachments)}")
    text = _text(pdf)
    everything = text + str(reader.attachments)
    with open("/etc/hostname") as f:  # a short host name could be any word of the summary
        hostname = f.read().strip()
    for leaked in (SECRET, "root:x:0:0", *([hostname] if len(hostname) >= 8 else [])):
        if leaked in everything:
            problems.append(f"file content in the PDF: {leaked}")
    flat = _squeezed(text)
    for field in PDF_FIELDS:
        if not any(_squeezed(v) in flat for v in (values[field], values[field].upper())):
            problems.append(f"{field} not printed as text")
    return problems


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_payload_is_inert_on_every_page_and_in_the_pdf(app, clinic_world, bait, kind):
    places, hits = bait
    payload = PAYLOADS[kind].replace("{listener}", places["listener"])
    payload = payload.replace("{secret}", places["secret"])
    values = tagged_values(payload)
    admin = ("a@home.test", PASSWORD)
    world = store_everywhere(app, values, admin, clinic_world["physician"].id)
    problems = []
    for name, path in world["pages"].items():
        client = world["admin"] if name == "users" else world["client"]
        response = client.get(path)
        assert response.status_code == 200, (name, path, response.status_code)
        problems += _page_problems(name, response.get_data(as_text=True), values)
    echoed = world["client"].get("/patients", query_string={"q": payload}).get_data(as_text=True)
    problems += [f"search echo: {e}" for e in injected_elements(echoed)]
    if f'value="{escape(payload[:100].strip())}"' not in echoed:
        problems.append("search echo: the query is not in the search field, escaped")
    pdf = world["client"].get(f"/visits/{world['visit_id']}/summary.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    problems += _pdf_problems(pdf.data, values)
    assert hits == [], "something fetched a URL of the payload"
    assert problems == []


def _signed_plain_visit(client, pid: int) -> tuple[int, dict]:
    """Save and sign an ordinary visit; return its id and the form data, to amend it."""
    draft_id, page = _start(client, pid)
    visit = _visit_data(page)
    visit_id = int(client.post(f"/drafts/{draft_id}", data=visit).location.split("/")[2])
    sign = {"meaning": SIGNATURE_MEANINGS[0], "password": PASSWORD, "version": "1"}
    assert client.post(f"/visits/{visit_id}/sign", data=sign).status_code == 302
    return visit_id, {**visit, "pain_now": "1", "password": PASSWORD}


def _nul_posts(app, clinic_world) -> dict:
    """One post per form, each with a NUL character in a free-text field."""
    client = login_client(app, "t@home.test")
    pid = clinic_world["patient"].id
    nul = "Nul\x00l"

    def patient():
        data = {"mrn": "NUL-1", "family_name": nul, "given_name": "Ann", "sex": "female"}
        data.update(birth_date="1970-01-01", diagnosis="ms", sci_level="")
        return client.post("/patients/new", data=data)

    def dose():
        data = {"effective_date": "2026-01-02", "route": "oral", "daily_dose": "20"}
        data.update(unit="mg/day", schedule=nul)
        return client.post(f"/patients/{pid}/doses/new", data=data)

    def visit(path=""):
        draft_id, page = _start(client, pid)
        return client.post(f"/drafts/{draft_id}{path}", data=_visit_data(page, notes=nul))

    def amend():
        visit_id, data = _signed_plain_visit(client, pid)
        return client.post(f"/visits/{visit_id}/amend", data={**data, "reason": nul})

    def user():
        admin = login_client(app, "a@home.test")
        data = {"name": nul, "email": "zq@home.test", "role": "therapist"}
        return admin.post("/admin/users/new", data={**data, "password": NEW_PASSWORD})

    return {
        "patient name": patient,
        "dose schedule": dose,
        "visit notes": visit,
        "visit autosave": lambda: visit("/autosave"),
        "amendment reason": amend,
        "user name": user,
        "search": lambda: client.get("/patients", query_string={"q": nul}),
        "login email": lambda: app.test_client().post(
            "/login", data={"email": f"t@home.test{nul}", "password": "x"}
        ),
    }


NUL_FORMS = (
    *("patient name", "dose schedule", "visit notes", "visit autosave", "amendment reason"),
    *("user name", "search", "login email"),
)


@pytest.mark.parametrize("form", NUL_FORMS)
def test_a_nul_character_is_refused_or_stored_never_a_500(
    app, database, clinic_world, form, request
):
    """PostgreSQL text cannot hold NUL (0x00), SQLite can: both refuse it with a 400, saying why."""
    response = _nul_posts(app, clinic_world)[form]()
    assert response.status_code == 400
    assert "invisible control character (NUL)" in response.text
    columns = (
        *(Patient.family_name, DoseChange.schedule, Visit.notes, Draft.payload),
        *(Amendment.reason, User.name),
    )
    with app.app_context():
        stored = [db.session.scalar(select(c).where(c.contains("Nul"))) for c in columns]
    assert stored == [None] * len(columns)


@pytest.mark.parametrize("form", ["amendment", "dose change"])
def test_a_long_submission_key_is_never_a_500(app, database, clinic_world, form, request):
    """The hidden submission key is client input too: 200 characters, on both databases."""
    client, pid, key = login_client(app, "t@home.test"), clinic_world["patient"].id, "k" * 200
    if form == "dose change":
        data = {"effective_date": "2026-01-02", "route": "oral", "daily_dose": "25"}
        data.update(unit="mg/day", submission_key=key)
        response = client.post(f"/patients/{pid}/doses/new", data=data)
    else:
        visit_id, data = _signed_plain_visit(client, pid)
        data.update(reason="Typo", submission_key=key)
        response = client.post(f"/visits/{visit_id}/amend", data=data)
    assert response.status_code in (302, 422)
