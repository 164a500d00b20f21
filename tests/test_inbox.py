"""The physician inbox: what is listed, read and acknowledged, by whom; the overdue list."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from spastic.demo.seed import DEMO_PASSWORD
from spastic.extensions import db
from spastic.models import Acknowledgement, AuditEvent, Clinic, Visit
from tests.conftest import PASSWORD
from tests.test_summary_pdf import _visit
from tests.test_visits import _visit_data


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _login(app, email, password=PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client


def _rows(page):
    """The inbox rows, in order: (patient cell, whole row)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>.*?</tr>", body, flags=re.S)


def _audit(app, action, user_id):
    with app.app_context():
        return db.session.execute(
            select(AuditEvent.entity_id, AuditEvent.field, AuditEvent.new_value).where(
                AuditEvent.action == action, AuditEvent.user_id == user_id
            )
        ).all()


def test_inbox_lists_care_team_summaries_newest_first_unread_in_bold(
    app, therapist, clinic_world, make_patient
):
    pid = clinic_world["patient"].id
    offteam = make_patient(clinic_world["home"], mrn="MRN-9", family_name="Offteam")
    older = _visit(therapist, pid, visit_date="2026-01-10")
    newer = _visit(therapist, pid, visit_date="2026-02-10", **{"mas-knee_flexors-left": "2"})
    _visit(therapist, offteam.id, visit_date="2026-02-11")
    draft = _visit(therapist, pid, sign=False, visit_date="2026-03-01")
    physician = _login(app, "p@home.test")
    assert physician.get("/").location.endswith("/inbox")  # physicians land here
    page = physician.get("/inbox").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 2 and "OFFTEAM" not in page  # not the draft, not off the care team
    assert f"/inbox/{newer}" in rows[0] and f"/inbox/{older}" in rows[1]  # newest first
    assert all('class="unread"' in r and "<strong>NGUYEN, Linh</strong>" in r for r in rows)
    assert "10 Feb 2026" in rows[0] and "Unread" in rows[0]
    # The headline is the verdict's first line, as the summary's page 1 prints it.
    # (The only dose change, 5 Jan, precedes both visits: nothing before it to compare with.)
    for row in rows:
        assert "Too early to judge: no signed visit before the change on 5 Jan 2026" in row
    # Opening marks it read, by its audit row (version 1), nothing else.
    opened = physician.get(f"/inbox/{newer}").get_data(as_text=True)
    assert "Acknowledge</button>" in opened and f"/visits/{newer}/summary.pdf?version=1" in opened
    reads = _audit(app, "read_summary", clinic_world["physician"].id)
    assert reads == [(newer, "version", "1")]
    rows = _rows(physician.get("/inbox").get_data(as_text=True))
    assert 'class="unread"' not in rows[0] and "Read, not acknowledged" in rows[0]
    assert 'class="unread"' in rows[1]
    assert physician.get(f"/inbox/{draft}").status_code == 404


def test_acknowledge_once_audited_shown_to_the_therapist_and_in_the_worklist(
    app, therapist, clinic_world
):
    pid = clinic_world["patient"].id
    visit_id = _visit(therapist, pid)
    worklist = therapist.get("/worklist").get_data(as_text=True)
    assert "Summary awaiting acknowledgement" in worklist and ">1 summary<" in worklist
    physician = _login(app, "p@home.test")
    page = physician.get(f"/inbox/{visit_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    for _ in range(2):  # a double tap
        answer = physician.post(f"/inbox/{visit_id}/acknowledge", data={"version": "1"})
        assert answer.status_code == 302
    with app.app_context():
        acks = db.session.scalars(select(Acknowledgement)).all()
        assert [(a.visit_id, a.version, a.physician_id) for a in acks] == [
            (visit_id, 1, clinic_world["physician"].id)
        ]
    audited = _audit(app, "acknowledge_summary", clinic_world["physician"].id)
    assert sorted(f for _v, f, _n in audited) == ["acknowledged_at", "version"]
    assert "You acknowledged version 1" in physician.get(f"/inbox/{visit_id}").get_data(
        as_text=True
    )
    shown = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert re.search(r"Acknowledged by Dr On Team, \d+ \w{3} \d{4} \d\d:\d\d", shown)
    assert ">1 summary<" not in therapist.get("/worklist").get_data(as_text=True)
    # An amendment is a new version: awaiting again, unread again.
    form = therapist.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
    data = _visit_data(form, notes="Corrected note.")
    data.update(reason="Transcription error", password=PASSWORD, submission_key="amend-ack")
    assert therapist.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    assert ">1 summary<" in therapist.get("/worklist").get_data(as_text=True)
    row = _rows(physician.get("/inbox").get_data(as_text=True))[0]
    assert "version 2 (amended)" in row and 'class="unread"' in row
    assert (
        physician.post(f"/inbox/{visit_id}/acknowledge", data={"version": "3"}).status_code == 409
    )


@pytest.mark.parametrize("outsider", ["outsider_physician", "other_physician", "other_therapist"])
def test_outsiders_see_nothing_and_cannot_acknowledge(app, therapist, clinic_world, outsider):
    visit_id = _visit(therapist, clinic_world["patient"].id)
    client = _login(app, clinic_world[outsider].email)
    if outsider != "other_therapist":
        listing = client.get("/inbox").get_data(as_text=True)
        assert "NGUYEN" not in listing and "No signed summaries" in listing
    assert client.get(f"/inbox/{visit_id}").status_code == 404
    assert client.post(f"/inbox/{visit_id}/acknowledge", data={"version": "1"}).status_code == 404
    assert "NGUYEN" not in client.get("/summaries/unacknowledged").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
    assert _audit(app, "read_summary", clinic_world[outsider].id) == []


def test_therapists_and_admins_have_no_inbox(app, therapist, clinic_world):
    visit_id = _visit(therapist, clinic_world["patient"].id)
    assert therapist.get("/inbox").status_code == 403
    assert therapist.get(f"/inbox/{visit_id}").status_code == 403
    assert (
        therapist.post(f"/inbox/{visit_id}/acknowledge", data={"version": "1"}).status_code == 403
    )
    admin = _login(app, "a@home.test")
    assert admin.get("/inbox").status_code == 403
    assert admin.get("/summaries/unacknowledged").status_code == 403


def test_summaries_not_acknowledged_after_the_clinics_days(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    old, recent = _visit(therapist, pid), _visit(therapist, pid)
    with app.app_context():
        signed = db.session.get(Visit, old).signed_at
        db.session.execute(
            update(Visit).where(Visit.id == old).values(signed_at=signed - timedelta(days=8))
        )
        db.session.commit()
    page = therapist.get("/summaries/unacknowledged").get_data(as_text=True)
    assert "not acknowledged after 7 days" in page
    assert f"/visits/{old}#summary-versions" in page and f"/visits/{recent}#" not in page
    assert "8 days" in page and "Dr On Team" in page
    with app.app_context():
        clinic = db.session.get(Clinic, clinic_world["home"].id)
        clinic.acknowledge_within_days = 9
        db.session.commit()
    page = therapist.get("/summaries/unacknowledged").get_data(as_text=True)
    assert "after 9 days" in page and f"/visits/{old}#" not in page
    admin = _login(app, "a@home.test")
    settings = {"paper_size": "A4", "timezone": "UTC", "refill_margin_days": "7"}
    settings |= {"review_interval_days": "90", "review_after_dose_change_days": "14"}
    bad = admin.post("/admin/clinic", data={**settings, "acknowledge_within_days": "0"})
    assert "Give between 1 and 90 days." in bad.get_data(as_text=True)
    assert (
        admin.post("/admin/clinic", data={**settings, "acknowledge_within_days": "7"}).status_code
        == 302
    )
    assert f"/visits/{old}#" in therapist.get("/summaries/unacknowledged").get_data(as_text=True)
    physician = _login(app, "p@home.test")
    physician.post(f"/inbox/{old}/acknowledge", data={"version": "1"})
    page = therapist.get("/summaries/unacknowledged").get_data(as_text=True)
    assert f"/visits/{old}#" not in page and "Every summary signed 7 or more days ago" in page


def test_the_demo_inbox_has_acknowledged_and_waiting_summaries(seeded_demo):
    app = seeded_demo
    physician = _login(app, "physician@demo.test", DEMO_PASSWORD)
    rows = _rows(physician.get("/inbox").get_data(as_text=True))
    waiting = [r for r in rows if 'class="unread"' in r]
    acknowledged = [r for r in rows if "Acknowledged " in r]
    assert waiting and acknowledged
    assert any("BRENNAN, Michael" in r for r in waiting)  # the plateau patient waits
    therapist = _login(app, "therapist@demo.test", DEMO_PASSWORD)
    worklist = therapist.get("/worklist").get_data(as_text=True)
    brennan = worklist.split("BRENNAN, Michael", 1)[1].split("</tr>", 1)[0]
    assert ">1 summary<" in brennan
    nguyen = worklist.split("NGUYEN, Linh", 1)[1].split("</tr>", 1)[0]
    assert "summar" not in nguyen.split("<td>")[-1]


def test_taps_at_once_store_one_acknowledgement(app, therapist, clinic_world):
    import threading

    visit_id = _visit(therapist, clinic_world["patient"].id)
    cookie = _login(app, "p@home.test").get_cookie("spastic_session").value
    statuses = []

    def tap():
        client = app.test_client()
        client.set_cookie("spastic_session", cookie)
        statuses.append(client.post(f"/inbox/{visit_id}/acknowledge", data={"version": "1"}))

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [s.status_code for s in statuses] == [302] * 4
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
    audited = _audit(app, "acknowledge_summary", clinic_world["physician"].id)
    assert [field for _v, field, _n in audited].count("version") == 1
