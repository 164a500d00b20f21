"""No GET changes anything but the audit trail and the login session.

Every GET rule of the app is walked, with real ids of a seeded clinic, as a therapist, a
physician and an admin; each table is compared (row count and a checksum of every row)
before and after each request. A page another site can open by navigation (SameSite=Lax sends
the cookie along) then cannot start a draft, sign, share or store anything.
"""

import hashlib
import re

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import AuditEvent, Base, Draft
from tests.conftest import PASSWORD
from tests.test_isolation import ROUTES

# The only tables a GET may change (issue 12: the audit trail and the login session). A signed
# visit's summary PDF is stored when it is signed, so a download writes nothing.
MAY_CHANGE = {"audit_event", "login_session"}
# Query strings that make a page show more than its bare URL does (search results, a trail).
QUERIES = {
    "patients.index": ["", "?q=nguyen", "?q=MRN&partial=1"],
    "admin.audit_trail": ["", "?mrn=MRN-1"],
}
SHARED_LINK = re.compile(r"/shared/([A-Za-z0-9_-]+)")


def _snapshot(app) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of all rows (in primary-key order) of every table."""
    state = {}
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            if table.name in MAY_CHANGE:
                continue
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
        db.session.rollback()
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


def _last_event(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _audited_patients(app, after: int) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(select(AuditEvent.patient_id).where(AuditEvent.id > after)).all()
        )


def _share_token(tmp_path) -> str:
    """The token of the link patient_records sent (no mail server: it is in the outbox)."""
    (email,) = tmp_path.glob("*.eml")
    return SHARED_LINK.search(email.read_text()).group(1)


def _get_urls(app, ids: dict[str, list]) -> list[str]:
    """Every GET rule, once for each value of each of its ids (a signed and an unsigned visit,
    a patient with a visit in progress and one without) and each query string above."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        assert rule.endpoint in ROUTES, f"{rule.endpoint} has no access rule in ROUTES"
        filled = [rule.rule]
        for name in rule.arguments:
            assert name in ids, f"no id to fill {rule.rule}: add it to the ids below"
            filled = [
                re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
                for url in filled
                for value in ids[name]
            ]
        urls += [url + query for url in filled for query in QUERIES.get(rule.endpoint, [""])]
    return urls


@pytest.mark.parametrize("role", ["therapist", "physician", "admin"])
def test_no_get_route_writes(app, clinic_world, patient_records, make_patient, tmp_path, role):
    second = make_patient(clinic_world["home"], mrn="MRN-2", care_team=[clinic_world["physician"]])
    ids = {
        "patient_id": [patient_records["patient_id"], second.id],
        "visit_id": [patient_records["visit_id"], patient_records["unsigned"]],
        "draft_id": [patient_records["draft_id"]],
        "link_id": [patient_records["link_id"]],
        "token": [_share_token(tmp_path)],
        "user_id": [clinic_world["therapist"].id],
        "filename": ["css/app.css"],
    }
    client = app.test_client()
    login = client.post("/login", data={"email": clinic_world[role].email, "password": PASSWORD})
    assert login.status_code == 302
    urls = _get_urls(app, ids)
    assert len(urls) >= 20
    answered = {}
    mrns = {"MRN-1": patient_records["patient_id"], "MRN-2": second.id}
    for url in urls:
        before, last_event = _snapshot(app), _last_event(app)
        response = client.get(url)
        body = response.get_data(as_text=not response.mimetype.endswith("pdf"))
        response.close()
        assert response.status_code < 500, (url, response.status_code)
        assert _changed(before, _snapshot(app)) == [], f"GET {url} as {role} wrote to the tables"
        # Whatever shows a patient names them in the audit trail (point 9 of issue 12).
        shown = {pid for mrn, pid in mrns.items() if isinstance(body, str) and mrn in body}
        assert shown <= _audited_patients(app, last_event), f"GET {url} showed {shown} unaudited"
        answered[url] = response.status_code
    # The walk reached the clinical pages it should (not a login redirect everywhere).
    if role == "therapist":
        assert answered[f"/patients/{second.id}/edit"] == 200
        assert answered[f"/drafts/{patient_records['draft_id']}"] == 200
        assert answered[f"/visits/{patient_records['visit_id']}/summary.pdf"] == 200
    if role == "admin":
        assert answered["/admin/audit?mrn=MRN-1"] == 200


def test_opening_a_visit_is_not_a_get(app, clinic_world, patient_records):
    """The URLs that start or reopen a draft refuse GET (405) and create nothing."""
    client = app.test_client()
    client.post("/login", data={"email": clinic_world["therapist"].email, "password": PASSWORD})
    pid, unsigned = patient_records["patient_id"], patient_records["unsigned"]
    with app.app_context():
        drafts = db.session.scalar(select(func.count()).select_from(Draft))
    before = _snapshot(app)
    assert client.get(f"/patients/{pid}/visits/new").status_code == 405
    assert client.get(f"/visits/{unsigned}/edit").status_code == 405
    assert _changed(before, _snapshot(app)) == []
    # The POSTs the buttons send do it.
    assert client.post(f"/visits/{unsigned}/edit").location.startswith("/drafts/")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Draft)) == drafts + 1


def test_patient_and_visit_pages_have_post_buttons(app, clinic_world, patient_records):
    client = app.test_client()
    client.post("/login", data={"email": clinic_world["therapist"].email, "password": PASSWORD})
    pid, unsigned = patient_records["patient_id"], patient_records["unsigned"]
    patient_page = client.get(f"/patients/{pid}").get_data(as_text=True)
    assert re.search(
        rf'<form method="post" action="/patients/{pid}/visits/new"[^>]*>\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
        r'<button type="submit" class="button primary">Continue visit in progress</button>',
        patient_page,
    )
    assert f'href="/patients/{pid}/visits/new"' not in patient_page
    visit_page = client.get(f"/visits/{unsigned}").get_data(as_text=True)
    assert re.search(
        rf'<form method="post" action="/visits/{unsigned}/edit"[^>]*>\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
        r'<button type="submit" class="button">Edit</button>',
        visit_page,
    )
