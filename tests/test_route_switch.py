"""Switching route: one POST records the old route's stop and the new route's start."""

from datetime import date

from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import AuditEvent, DoseChange, Patient
from spastic.trends.presenter import load_trend

TODAY = date.today()


def _post(client, patient_id, **fields):
    data = {
        "effective_date": TODAY.isoformat(),
        "to_route": "intrathecal",
        "daily_dose": "100",
        "schedule": "Continuous pump",
        "formulation": "Lioresal Intrathecal 2000 mcg/mL",
        "reason": "Pump implanted",
        "submission_key": "switch-1",
        **fields,
    }
    return client.post(f"/patients/{patient_id}/doses/switch", data=data)


def _changes(app, patient_id):
    with app.app_context():
        rows = db.session.scalars(
            select(DoseChange).where(DoseChange.patient_id == patient_id).order_by(DoseChange.id)
        ).all()
        return [(c.effective_date, c.route, int(c.daily_dose), c.unit, c.stopped) for c in rows]


def test_a_switch_records_the_stop_and_the_start_once(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id  # on 30 mg/day oral since 5 Jan 2026
    form = client.get(f"/patients/{pid}/doses/switch").get_data(as_text=True)
    assert "30 mg/day oral" in form and "abrupt stop" in form
    assert _post(client, pid).status_code == 302
    assert _post(client, pid).status_code == 302  # the same form sent again: nothing more
    assert _changes(app, pid)[1:] == [
        (TODAY, "oral", 0, "mg/day", True),
        (TODAY, "intrathecal", 100, "mcg/day", False),
    ]
    page = client.get(f"/patients/{pid}").get_data(as_text=True)
    assert f"100 mcg/day intrathecal; oral stopped on {TODAY:%-d %b %Y}" in page
    with app.app_context():
        trend = load_trend(db.session.get(Patient, pid))
        (flag,) = [f for f in trend.flags if f.code == "abrupt_stop"]
        assert "Oral baclofen reached zero" in flag.message and "in one step" in flag.message


def test_refused_input_says_why_and_writes_nothing(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    before = _changes(app, pid)
    with app.app_context():
        audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    page = _post(client, pid, daily_dose="lots").get_data(as_text=True)
    assert "Enter the total daily dose as a number" in page
    assert 'value="Lioresal Intrathecal 2000 mcg/mL"' in page  # the other input is kept
    page = _post(client, pid, to_route="oral").get_data(as_text=True)
    assert "Oral baclofen is already given" in page
    page = _post(client, pid, daily_dose="5000").get_data(as_text=True)
    assert "not a plausible intrathecal daily dose" in page
    assert _changes(app, pid) == before
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).order_by(AuditEvent.id).offset(audits)
        ).all()
        assert set(actions) == {"view"}  # the re-shown forms, nothing created


def test_a_physician_cannot_switch(client, auth, clinic_world):
    auth.login(clinic_world["physician"])
    pid = clinic_world["patient"].id
    assert client.get(f"/patients/{pid}/doses/switch").status_code == 403
    assert _post(client, pid).status_code == 403
