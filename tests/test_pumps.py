"""Intrathecal pumps through the app: record, refill, dates on the patient page, refusals, audit."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import AuditEvent, Pump, Refill

TODAY = date.today()


@pytest.fixture
def pump_patient(make_patient, clinic_world):
    """A C5 SCI patient on 400 mcg/day intrathecal since 200 days ago (a higher-risk patient)."""
    start = TODAY - timedelta(days=200)
    return make_patient(
        clinic_world["home"],
        mrn="IT-1",
        family_name="Okoro",
        sci_level="C5",
        care_team=[clinic_world["physician"]],
        doses=[(start, "intrathecal", 400)],
    )


def _pump(client, patient_id, **overrides):
    data = {
        "model": "SynchroMed II 8637-20",
        "reservoir": "20",
        "alarm": "2",
        "implant_date": (TODAY - timedelta(days=200)).isoformat(),
        **overrides,
    }
    return client.post(f"/patients/{patient_id}/pump/new", data=data)


def _refill(client, patient_id, on, added="20", drawn=None, concentration="2000", key="k1"):
    data = {
        "refill_date": on.isoformat(),
        "volume_added": added,
        "concentration": concentration,
        "submission_key": key,
    }
    if drawn is not None:
        data["residual_drawn"] = drawn
    return client.post(f"/patients/{patient_id}/pump/refills/new", data=data)


def test_pump_dates_on_the_patient_page(app, client, auth, clinic_world, pump_patient):
    auth.login(clinic_world["therapist"])
    assert _pump(client, pump_patient.id).status_code == 302
    # Fill 60 days ago: 20 mL of 2000 mcg/mL at 400 mcg/day = 0.2 mL/day.
    filled = TODAY - timedelta(days=60)
    assert _refill(client, pump_patient.id, filled).status_code == 302
    page = client.get(f"/patients/{pump_patient.id}").get_data(as_text=True)
    # Alarm (2 mL) 90 days after the fill, empty after 100; C5 is T6 or above: 10-day margin.
    alarm, empty, due = (filled + timedelta(days=n) for n in (90, 100, 80))
    assert f"{alarm:%-d %b %Y}" in page and f"{empty:%-d %b %Y}" in page
    assert f"<strong>{due:%-d %b %Y}</strong> (10 days before the alarm" in page
    assert "injury at C5 (T6 or above)" in page
    assert "8.0 mL" in page  # 20 - 60 x 0.2
    assert "400 mcg/day ÷ 2000 mcg/mL = 0.200 mL a day" in page
    with app.app_context():
        refill = db.session.scalar(select(Refill))
        assert refill.first_fill and refill.expected_residual_ml is None
        actions = db.session.scalars(
            select(AuditEvent.entity).where(AuditEvent.action == "create")
        ).all()
        assert {"pump", "refill"} <= set(actions)


def test_a_refill_stores_the_expected_residual_and_flags_a_discrepancy(
    app, client, auth, clinic_world, pump_patient
):
    auth.login(clinic_world["therapist"])
    _pump(client, pump_patient.id)
    _refill(client, pump_patient.id, TODAY - timedelta(days=100), key="a")
    # 60 days later 8 mL are expected; 5 mL drawn is 3 mL less (beyond 2 mL, ASRA 2017).
    response = _refill(client, pump_patient.id, TODAY - timedelta(days=40), drawn="5", key="b")
    assert response.status_code == 302
    with app.app_context():
        second = db.session.scalars(select(Refill).order_by(Refill.id)).all()[1]
        assert second.expected_residual_ml == Decimal("8.00")
    page = client.get(f"/patients/{pump_patient.id}").get_data(as_text=True)
    assert "3.0 mL less was drawn out than expected (8.0 mL expected, 5 mL drawn)" in page
    assert "ASRA 2017" in page


def test_the_same_refill_sent_twice_is_stored_once(app, client, auth, clinic_world, pump_patient):
    auth.login(clinic_world["therapist"])
    _pump(client, pump_patient.id)
    for _ in range(2):
        assert _refill(client, pump_patient.id, TODAY, key="same").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Refill.id))) == 1


def test_a_refill_with_no_dose_in_force_is_refused_with_a_sentence(
    app, client, auth, clinic_world, make_patient
):
    patient = make_patient(clinic_world["home"], mrn="IT-2", doses=[])
    auth.login(clinic_world["therapist"])
    _pump(client, patient.id)
    response = _refill(client, patient.id, TODAY)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No intrathecal dose (mcg/day) is in force on" in page
    assert 'value="20"' in page  # the input is kept
    with app.app_context():
        assert db.session.scalar(select(func.count(Refill.id))) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"volume_added": "abc"}, "Enter the volume added in mL as a number."),
        ({"volume_added": "25"}, "The volume added in mL must be between 0.1 and 20."),
        ({"concentration": "other", "concentration_other": ""}, "Enter the concentration"),
        ({"refill_date": "2999-01-01"}, "The refill date is in the future"),
    ],
)
def test_bad_refill_input_is_refused_next_to_the_field(
    app, client, auth, clinic_world, pump_patient, data, message
):
    auth.login(clinic_world["therapist"])
    _pump(client, pump_patient.id)
    form = {"refill_date": TODAY.isoformat(), "volume_added": "20", "concentration": "2000"}
    response = client.post(f"/patients/{pump_patient.id}/pump/refills/new", data=form | data)
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Refill.id))) == 0


def test_the_alarm_must_be_below_the_reservoir(app, client, auth, clinic_world, pump_patient):
    auth.login(clinic_world["therapist"])
    response = _pump(client, pump_patient.id, reservoir="other", reservoir_other="3", alarm="4")
    assert "The alarm volume must be below the reservoir volume." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Pump.id))) == 0


def test_physicians_read_the_pump_but_cannot_record(app, client, auth, clinic_world, pump_patient):
    auth.login(clinic_world["therapist"])
    _pump(client, pump_patient.id)
    _refill(client, pump_patient.id, TODAY - timedelta(days=10))
    auth.logout()
    auth.login(clinic_world["physician"])
    page = client.get(f"/patients/{pump_patient.id}").get_data(as_text=True)
    assert "Low-reservoir alarm" in page and "Record a refill" not in page
    assert _refill(client, pump_patient.id, TODAY, key="x").status_code == 403
    assert client.get(f"/patients/{pump_patient.id}/pump/new").status_code == 403


def test_other_clinics_get_404(client, auth, clinic_world, pump_patient):
    auth.login(clinic_world["other_therapist"])
    assert client.get(f"/patients/{pump_patient.id}/pump/new").status_code == 404
    assert client.get(f"/patients/{pump_patient.id}/pump/refills/new").status_code == 404
    assert _refill(client, pump_patient.id, TODAY).status_code == 404


def test_the_trend_page_and_the_pdf_show_the_pump(app, client, auth, clinic_world, pump_patient):
    from tests.test_summary_pdf import _text, _visit

    auth.login(clinic_world["therapist"])
    _pump(client, pump_patient.id)
    filled = TODAY - timedelta(days=30)
    _refill(client, pump_patient.id, filled)
    alarm, due = filled + timedelta(days=90), filled + timedelta(days=80)
    trend = client.get(f"/patients/{pump_patient.id}/trend").get_data(as_text=True)
    assert "Intrathecal pump" in trend and f"<strong>{due:%-d %b %Y}</strong>" in trend
    visit_id = _visit(client, pump_patient.id)
    text = " ".join(_text(client.get(f"/visits/{visit_id}/summary.pdf").data).split())
    assert f"Intrathecal pump (as on {TODAY:%-d %b %Y})" in text
    assert f"Refill due {due:%-d %b %Y} (10 days before the alarm" in text
    assert f"low-reservoir alarm {alarm:%-d %b %Y}" in text
