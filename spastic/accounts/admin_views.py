"""Clinic administration: the clinic's users, settings and audit trail."""

from dataclasses import asdict

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from spastic import audit
from spastic.access import role_required
from spastic.accounts import sessions
from spastic.accounts.clinic_muscles import clinic_usual_set
from spastic.accounts.forms import ClinicSettingsForm, UserForm
from spastic.accounts.users import create_user, email_refusal
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.models import AuditEvent, Patient, User

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE = 500


@bp.get("/users")
@role_required("admin")
def users():
    """List the users of the admin's clinic."""
    rows = db.session.scalars(
        select(User).where(User.clinic_id == current_user.clinic_id).order_by(User.name)
    ).all()
    return render_template("accounts/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@reshow_on_expired_form
@role_required("admin")
def new_user():
    """Create a user in the admin's own clinic."""
    form = UserForm()
    if form.validate_on_submit():
        new = form.as_new_user()
        refusal = email_refusal(new.email, current_user.clinic_id)
        if refusal:
            form.email.errors = [refusal]
            db.session.commit()  # the audit row of a refused address of another clinic
        else:
            create_user(current_user.clinic, new)
            db.session.commit()
            flash(f"{new.name} can now log in as {new.role}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("accounts/user_form.html", form=form)


@bp.post("/users/<int:user_id>/active")
@role_required("admin")
def toggle_active(user_id: int):
    """Disable (ending all their sessions) or re-enable a user of the admin's clinic."""
    user = db.session.get(User, user_id)
    if user is None or user.clinic_id != current_user.clinic_id:
        abort(404)
    if user.id == current_user.id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("admin.users"))
    user.active = not user.active
    if not user.active:
        sessions.end_all_for(user.id, "disabled")
    audit.record(
        "enable" if user.active else "disable",
        entity="user",
        entity_id=user.id,
        changes={"active": (not user.active, user.active)},
    )
    db.session.commit()
    flash(f"{user.name} is {'enabled' if user.active else 'disabled'}.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@role_required("admin")
def audit_trail():
    """Find a patient of the admin's clinic by MRN and show who did what to their record, when.

    The values (old and new) stay out of this page: the admin role sees no clinical data.
    """
    mrn = (request.args.get("mrn") or "").strip()[:40]
    patient = None
    events = []
    if mrn:
        patient = db.session.scalar(
            select(Patient).where(Patient.clinic_id == current_user.clinic_id, Patient.mrn == mrn)
        )
        # The lookup is on the record even when it finds no one: probing MRNs leaves a trace.
        audit.record(
            "view_audit",
            entity="patient",
            entity_id=patient.id if patient else None,
            patient_id=patient.id if patient else None,
            changes={"mrn": (None, mrn)},
        )
    if patient is not None:
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.patient_id == patient.id)
            .order_by(AuditEvent.id.desc())
            .limit(AUDIT_PAGE)
        ).all()
    if mrn:
        db.session.commit()
    return render_template(
        "accounts/audit.html", mrn=mrn, patient=patient, events=events, limit=AUDIT_PAGE
    )


@bp.route("/clinic", methods=["GET", "POST"])
@reshow_on_expired_form
@role_required("admin")
def clinic_settings():
    """Set the clinic's paper size, time zone, scheduling and usual set of muscles."""
    clinic = current_user.clinic
    form = ClinicSettingsForm(obj=clinic, usual_set=list(clinic_usual_set(clinic)))
    if form.validate_on_submit():
        new = asdict(form.as_settings())
        changes = audit.changed_fields({k: getattr(clinic, k) for k in new}, new)
        for name, value in new.items():
            setattr(clinic, name, value)
        audit.record("update", entity="clinic", entity_id=clinic.id, changes=changes)
        db.session.commit()
        flash("Clinic settings saved.", "success")
        return redirect(url_for("admin.clinic_settings"))
    return render_template("accounts/clinic.html", form=form, clinic=clinic)
