"""The worklist: who is due, in urgency order, filters, CSV, isolation and audit."""

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from spastic.extensions import db
from spastic.models import AuditEvent, Patient, Pump, Refill, Visit

TODAY = date.today()


def _signed_visit(app, patient, therapist, on):
    with app.app_context():
        db.session.add(
            Visit(
                patient_id=patient.id,
                therapist_id=therapist.id,
                visit_date=on,
                rater="T",
                status="signed",
                submission_key=f"v{patient.id}{on}",
            )
        )
        db.session.commit()


def _pump(app, patient, filled_days_ago, volume="20"):
    with app.app_context():
        row = Pump(
            patient_id=patient.id,
            model="SynchroMed II",
            reservoir_ml=20,
            alarm_ml=2,
            implant_date=TODAY - timedelta(days=400),
        )
        row.refills.append(
            Refill(
                refill_date=TODAY - timedelta(days=filled_days_ago),
                volume_added_ml=volume,
                concentration_mcg_ml=2000,
                first_fill=True,
            )
        )
        db.session.add(row)
        db.session.commit()


@pytest.fixture
def world(app, clinic_world, make_patient):
    home, therapist = clinic_world["home"], clinic_world["therapist"]
    it = [(TODAY - timedelta(days=300), "intrathecal", 400)]
    people = {
        # 20 mL at 0.2 mL/day filled 95 days ago: past the alarm (day 90): urgent.
        "urgent": make_patient(home, mrn="W-1", family_name="Urgent", doses=it),
        # filled 85 days ago: due day 83 (7-day margin, T8 injury): overdue, warning.
        "overdue": make_patient(home, mrn="W-2", family_name="Overdue", doses=it, sci_level="T8"),
        # reviewed 100 days ago, interval 90: review overdue (no flag).
        "review": make_patient(
            home, mrn="W-3", family_name="Review", diagnosis="ms", sci_level=None
        ),
        # reviewed 10 days ago: due in 80 days.
        "later": make_patient(home, mrn="W-4", family_name="Later", diagnosis="ms", sci_level=None),
    }
    _pump(app, people["urgent"], 95)
    _pump(app, people["overdue"], 85)
    _signed_visit(app, people["review"], therapist, TODAY - timedelta(days=100))
    _signed_visit(app, people["later"], therapist, TODAY - timedelta(days=10))
    return {**clinic_world, **people}


def _names(page: str) -> list[str]:
    return [n for n in ("URGENT", "OVERDUE", "REVIEW", "LATER", "NGUYEN") if n in page]


def _order(page: str) -> list[str]:
    found = {name: page.index(f"{name}, ") for name in _names(page)}
    return sorted(found, key=found.get)


def test_worklist_orders_by_urgency(client, auth, world):
    auth.login(world["therapist"])
    page = client.get("/worklist").get_data(as_text=True)
    # urgent pump, overdue pump, overdue review, then the never-seen patient (due now), later.
    assert _order(page) == ["URGENT", "OVERDUE", "REVIEW", "NGUYEN", "LATER"]
    assert "Refill overdue: the low-reservoir alarm date" in page
    assert "every 90 days" in page


def test_the_therapist_lands_on_the_worklist(client, auth, world):
    auth.login(world["therapist"])
    assert client.get("/").location.endswith("/worklist")


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("pumps", ["URGENT", "OVERDUE"]),
        ("warnings", ["URGENT", "OVERDUE"]),
        ("week", ["URGENT", "OVERDUE", "REVIEW", "NGUYEN"]),
        ("mine", ["REVIEW", "LATER"]),
    ],
)
def test_filters(client, auth, world, show, expected):
    auth.login(world["therapist"])
    page = client.get(f"/worklist?show={show}").get_data(as_text=True)
    assert _order(page) == expected


def test_physicians_see_their_care_team_only(client, auth, world):
    auth.login(world["physician"])
    page = client.get("/worklist").get_data(as_text=True)
    assert _names(page) == ["NGUYEN"]


def test_other_clinics_see_none_of_ours(client, auth, world):
    auth.login(world["other_therapist"])
    page = client.get("/worklist").get_data(as_text=True)
    assert _names(page) == [] and "FISCHER" in page
    assert "FISCHER" in client.get("/worklist.csv").get_data(as_text=True)


def test_csv_export(client, auth, world):
    auth.login(world["therapist"])
    response = client.get("/worklist.csv?show=pumps")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["mrn"] for r in rows] == ["W-1", "W-2"]
    # the fixture patient is C6 (T6 or above): a 10-day margin before the alarm on day 90
    refill_due = TODAY - timedelta(days=95) + timedelta(days=90 - 10)
    assert rows[0]["refill_due"] == refill_due.isoformat()
    assert rows[0]["open_flags"].startswith("urgent: Refill overdue")


def test_the_worklist_names_the_patients_it_showed(app, client, auth, world):
    auth.login(world["therapist"])
    client.get("/worklist?show=pumps")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "worklist").order_by(AuditEvent.id)
        ).all()
    assert {e.patient_id for e in events} == {world["urgent"].id, world["overdue"].id}
    assert {(e.action, e.field, e.new_value) for e in events} == {("list", "show", "pumps")}


def test_booking_dates(app, client, auth, world):
    auth.login(world["therapist"])
    patient = world["urgent"]
    booked = TODAY + timedelta(days=30)
    response = client.post(
        f"/patients/{patient.id}/schedule",
        data={"next_refill_date": booked.isoformat(), "prior_withdrawal": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Patient, patient.id)
        assert row.next_refill_date == booked and row.prior_withdrawal
        fields = set(
            db.session.scalars(
                select(AuditEvent.field).where(
                    AuditEvent.patient_id == patient.id, AuditEvent.action == "update"
                )
            )
        )
    assert {"next_refill_date", "prior_withdrawal"} <= fields
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "is after the low-reservoir alarm date" in page  # booked after an alarm already past
    assert "previous withdrawal" in page


def test_clinic_scheduling_settings_drive_the_worklist(app, client, auth, world):
    auth.login(world["admin"])
    settings = {"paper_size": "A4", "timezone": "UTC", "review_after_dose_change_days": "14"}
    settings["acknowledge_within_days"] = "7"
    too_short = {**settings, "refill_margin_days": "1", "review_interval_days": "90"}
    bad = client.post("/admin/clinic", data=too_short)
    assert "Give between 3 and 30 days." in bad.get_data(as_text=True)
    saved = client.post(
        "/admin/clinic", data={**settings, "refill_margin_days": "7", "review_interval_days": "200"}
    )
    assert saved.status_code == 302
    auth.logout()
    auth.login(world["therapist"])
    page = client.get("/worklist").get_data(as_text=True)
    # Reviewed 100 days ago: with a 200-day interval no longer overdue.
    assert "every 200 days" in page
    assert _order(page).index("REVIEW") > _order(page).index("NGUYEN")


def test_booking_from_the_visit_page_returns_there(app, client, auth, world, patient_records):
    auth.login(world["therapist"])
    visit_id = patient_records["visit_id"]
    page = client.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert 'name="return_visit_id"' in page and "Next pump refill" in page
    booked = (TODAY + timedelta(days=20)).isoformat()
    response = client.post(
        f"/patients/{patient_records['patient_id']}/schedule",
        data={"next_review_date": booked, "return_visit_id": str(visit_id)},
    )
    assert response.location.endswith(f"/visits/{visit_id}#schedule")
    with app.app_context():
        assert (
            db.session.get(Patient, patient_records["patient_id"]).next_review_date.isoformat()
            == booked
        )
    other = client.post(
        f"/patients/{patient_records['patient_id']}/schedule", data={"return_visit_id": "999999"}
    )
    assert other.location.endswith(f"/patients/{patient_records['patient_id']}#schedule")


def test_a_past_booking_does_not_hide_a_later_one_after_the_alarm(app, client, auth, world):
    """A refill booked (and done) last week says nothing; the review booked after the alarm
    date must still be flagged."""
    auth.login(world["therapist"])
    patient = world["overdue"]  # filled 85 days ago: alarm on day 90, in 5 days
    data = {
        "next_refill_date": (TODAY - timedelta(days=7)).isoformat(),
        "next_review_date": (TODAY + timedelta(days=30)).isoformat(),
    }
    client.post(f"/patients/{patient.id}/schedule", data=data)
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "is after the low-reservoir alarm date" in page
