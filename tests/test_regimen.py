"""Recording baclofen regimen changes: units, plausibility, once per submission."""

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import AuditEvent, DoseChange, Patient, User
from spastic.patients import records as patient_records
from spastic.patients.forms import DoseEntry

TODAY = date.today()


def _post(client, patient_id, **fields):
    data = {
        "effective_date": TODAY.isoformat(),
        "route": "oral",
        "daily_dose": "45",
        "schedule": "15 mg three times a day",
        "formulation": "10 mg tablets",
        "reason": "Titration",
        "submission_key": fields.pop("key", "key-1"),
        **fields,
    }
    return client.post(f"/patients/{patient_id}/doses/new", data=data)


def _changes(app, patient_id):
    with app.app_context():
        return db.session.scalars(
            select(DoseChange).where(DoseChange.patient_id == patient_id).order_by(DoseChange.id)
        ).all()


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m)) for m in (DoseChange, AuditEvent)
        )


def test_dose_change_recorded_and_shown_as_dose_today(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    assert _post(client, pid).status_code == 302
    changes = _changes(app, pid)
    assert [(c.route, str(c.daily_dose), c.unit) for c in changes][-1] == (
        "oral",
        "45.00",
        "mg/day",
    )
    page = client.get(f"/patients/{pid}").get_data(as_text=True)
    assert 'class="dose-now regimen">45 mg/day oral<' in page
    assert "15 mg three times a day" in page


@pytest.mark.parametrize(("route", "unit"), [("oral", "mg/day"), ("intrathecal", "mcg/day")])
def test_the_unit_follows_the_route(app, client, auth, clinic_world, route, unit):
    """No unit to choose (so no mL/day under a "never mL" hint); the stored unit is the
    route's, whatever a client posts as "unit"."""
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    page = client.get(f"/patients/{pid}/doses/new").get_data(as_text=True)
    assert 'name="unit"' not in page and "mL/day" not in page
    assert "Oral · mg/day" in page and "Intrathecal · mcg/day" in page
    assert "mg/day oral, mcg/day intrathecal" in page  # the dose field's hint
    response = _post(client, pid, route=route, daily_dose="50", unit="mL/day")
    assert response.status_code == 302
    assert (_changes(app, pid)[-1].route, _changes(app, pid)[-1].unit) == (route, unit)


def test_double_submission_creates_one_change(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    first = _post(client, pid, key="same")
    again = _post(client, pid, key="same")
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    assert len(_changes(app, pid)) == 2  # the fixture's first dose + this one


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"daily_dose": "0"}, "daily_dose", "above 0"),
        ({"daily_dose": "-5"}, "daily_dose", "above 0"),
        ({"daily_dose": "310"}, "daily_dose", "300"),
        ({"route": "intrathecal", "daily_dose": "2500"}, "daily_dose", "2000"),
        ({"route": ""}, "route", "route"),
        ({"daily_dose": "ten"}, "daily_dose", "number"),
        (
            {"effective_date": (TODAY + timedelta(days=8)).isoformat()},
            "effective_date",
            "more than 7 days ahead",
        ),
    ],
)
def test_implausible_entries_are_refused(app, client, auth, clinic_world, fields, field, message):
    auth.login(clinic_world["therapist"])
    before = _counts(app)
    response = _post(client, clinic_world["patient"].id, **fields)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    error = text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message.lower() in error.lower()
    assert "15 mg three times a day" in text  # the rest of the input is kept
    # Nothing is written but the audit row of the re-shown form (it shows the patient).
    changes, audit_rows = _counts(app)
    assert (changes, audit_rows) == (before[0], before[1] + 1)
    with app.app_context():
        last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (last.action, last.entity) == ("view", "dose_form")


def test_planned_change_within_a_week_is_accepted(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    soon = (TODAY + timedelta(days=7)).isoformat()
    assert _post(client, pid, effective_date=soon).status_code == 302


def test_stop_is_recorded_as_zero(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    assert _post(client, pid, daily_dose="", stopped="y").status_code == 302
    last = _changes(app, pid)[-1]
    assert (last.stopped, last.daily_dose) == (True, 0)
    page = client.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Stopped (0 mg/day)" in page


def test_physician_cannot_record_dose(client, auth, clinic_world):
    auth.login(clinic_world["physician"])
    assert _post(client, clinic_world["patient"].id).status_code == 403


def twice_at_once(app, call) -> list[str]:
    """Run `call()` in two threads, each in its own app context and transaction; the second
    starts while the first has written but not committed. Return how each ended."""
    first_wrote, ended = threading.Event(), {}

    def run(name, hold):
        with app.app_context():
            try:
                call()
                if hold:
                    first_wrote.set()
                    time.sleep(1.0)  # the second request arrives now
                db.session.commit()
                ended[name] = "ok"
            except Exception as error:
                ended[name] = type(error).__name__
                db.session.rollback()
            finally:
                first_wrote.set()

    first = threading.Thread(target=run, args=("first", True))
    second = threading.Thread(target=lambda: (first_wrote.wait(), run("second", False)))
    first.start(), second.start()
    first.join(), second.join()
    return [ended["first"], ended["second"]]


def test_the_same_dose_change_sent_twice_at_once_is_stored_once(app, clinic_world):
    """A double tap whose two requests overlap: one row, and no error for either."""
    patient_id, user_id = clinic_world["patient"].id, clinic_world["therapist"].id
    entry = DoseEntry(TODAY, "oral", Decimal(40), "mg/day", False, "", "", "")

    def add():
        patient, user = db.session.get(Patient, patient_id), db.session.get(User, user_id)
        patient_records.add_dose_change(patient, entry, user, "same-key")

    assert twice_at_once(app, add) == ["ok", "ok"]
    with app.app_context():
        rows = db.session.scalars(
            select(DoseChange).where(DoseChange.submission_key == "same-key")
        ).all()
    assert [r.daily_dose for r in rows] == [Decimal(40)]
