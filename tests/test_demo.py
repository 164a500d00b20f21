"""`seed-demo` creates the documented accounts and varied patients, once."""

from sqlalchemy import func, select

from spastic.extensions import db
from spastic.models import Clinic, DoseChange, Patient, User


def test_seed_demo_creates_documented_accounts(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert "Demo data: 4 accounts" in result.output
    with app.app_context():
        users = {u.email: (u.role, u.clinic.name) for u in db.session.scalars(select(User))}
        assert users == {
            "therapist@demo.test": ("therapist", "Demo Rehab"),
            "physician@demo.test": ("physician", "Demo Rehab"),
            "admin@demo.test": ("admin", "Demo Rehab"),
            "therapist@other.test": ("therapist", "Other Clinic"),
        }
        demo = db.session.scalar(select(Clinic).where(Clinic.name == "Demo Rehab"))
        patients = db.session.scalars(select(Patient).where(Patient.clinic_id == demo.id)).all()
        assert len(patients) >= 12
        routes = {c.route for p in patients for c in p.dose_changes}
        assert routes == {"oral", "intrathecal"}
        assert any(c.stopped for p in patients for c in p.dose_changes)
        assert any(p.egfr is not None and p.egfr < 30 for p in patients)
    again = runner.invoke(args=["seed-demo"])
    assert "already has users" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DoseChange)) > 12


def test_demo_accounts_log_in(app, runner, client):
    runner.invoke(args=["seed-demo"])
    response = client.post(
        "/login", data={"email": "therapist@demo.test", "password": "spastic-demo"}
    )
    assert response.status_code == 302
    assert "NGUYEN, Linh" in client.get("/patients").get_data(as_text=True)
