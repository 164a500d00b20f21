"""Admins manage the users of their own clinic; the shell can create users too."""

from sqlalchemy import select

from spastic.extensions import db
from spastic.models import AuditEvent, Clinic, User


def test_admin_creates_user_in_own_clinic(app, client, auth, clinic_world):
    auth.login(clinic_world["admin"])
    response = client.post(
        "/admin/users/new",
        data={
            "name": "New Physio",
            "email": "New@Home.test",
            "role": "therapist",
            "password": "long-enough-pass",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@home.test"))
        assert user.clinic_id == clinic_world["home"].id
        assert user.role == "therapist"
        audit = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "user", AuditEvent.entity_id == user.id)
        ).all()
        assert {(a.field, a.new_value) for a in audit} >= {("role", "therapist")}
    page = client.get("/admin/users")
    assert b"New Physio" in page.data
    assert b"t@other.test" not in page.data


def test_weak_password_and_duplicate_email_are_refused(app, client, auth, clinic_world):
    auth.login(clinic_world["admin"])
    before = _user_count(app)
    weak = client.post(
        "/admin/users/new",
        data={"name": "X", "email": "x@home.test", "role": "therapist", "password": "short"},
    )
    assert b"Use at least 12 characters." in weak.data
    assert b'value="x@home.test"' in weak.data  # input kept
    ours = client.post(
        "/admin/users/new",
        data={"name": "X", "email": "T@home.test", "role": "therapist", "password": "x" * 14},
    )
    assert b"A user of your clinic already has this email." in ours.data
    assert _user_count(app) == before


def test_another_clinics_email_gets_a_neutral_refusal(app, client, auth, clinic_world):
    """The answer does not tell the admin that another clinic has an account with it."""
    auth.login(clinic_world["admin"])
    before = _user_count(app)
    theirs = client.post(
        "/admin/users/new",
        data={"name": "X", "email": "t@other.test", "role": "therapist", "password": "x" * 14},
    )
    text = theirs.get_data(as_text=True)
    assert "This email cannot be used for a new account." in text
    assert "already has" not in text and "exists" not in text and "Other Clinic" not in text
    assert 'value="t@other.test"' in text  # input kept
    assert _user_count(app) == before
    with app.app_context():
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "create_refused")
        ).all()
        assert [(e.user_id, e.clinic_id, e.new_value) for e in refused] == [
            (clinic_world["admin"].id, clinic_world["home"].id, "t@other.test")
        ]


def test_admin_cannot_touch_another_clinics_user(app, client, auth, clinic_world):
    auth.login(clinic_world["admin"])
    response = client.post(f"/admin/users/{clinic_world['other_therapist'].id}/active")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(User, clinic_world["other_therapist"].id).active is True


def test_non_admins_get_403(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    assert client.get("/admin/users").status_code == 403
    assert client.post(f"/admin/users/{clinic_world['physician'].id}/active").status_code == 403


def test_cli_create_user(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--clinic",
            "North Clinic",
            "--email",
            "Doc@North.test",
            "--name",
            "Dr North",
            "--role",
            "physician",
            "--password",
            "a-good-long-password",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "doc@north.test"))
        assert user.role == "physician"
        assert db.session.get(Clinic, user.clinic_id).name == "North Clinic"
    again = runner.invoke(
        args=[
            "create-user",
            "--clinic",
            "North Clinic",
            "--email",
            "doc@north.test",
            "--name",
            "X",
            "--role",
            "admin",
            "--password",
            "a-good-long-password",
        ]
    )
    assert again.exit_code != 0
    assert "already exists" in again.output


def _user_count(app):
    with app.app_context():
        return db.session.scalar(select(db.func.count(User.id)))


def test_admin_reads_a_patients_audit_trail(app, client, auth, clinic_world):
    therapist = app.test_client()
    therapist.post("/login", data={"email": "t@home.test", "password": "correct-horse-battery"})
    therapist.get(f"/patients/{clinic_world['patient'].id}")
    auth.login(clinic_world["admin"])
    page = client.get("/admin/audit?mrn=MRN-1").get_data(as_text=True)
    assert "NGUYEN, Linh" in page
    assert "t@home.test" in page and "<td>view</td>" in page
    other = client.get("/admin/audit?mrn=OC-1").get_data(as_text=True)
    assert "No patient of Demo Rehab has the MRN" in other
    assert "FISCHER" not in other
    with app.app_context():
        seen = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.user_email == "a@home.test")
        ).all()
    assert "view_audit" in seen


def test_only_admins_read_the_audit_trail(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    assert client.get("/admin/audit?mrn=MRN-1").status_code == 403
