"""The baclofen regimen: dated changes of the total daily dose."""

import secrets
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import patient_for
from spastic.clinical import dosing
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.patients.forms import DoseChangeForm
from spastic.patients.records import add_dose_change
from spastic.patients.regimen import as_pure_changes

bp = Blueprint("regimen", __name__, url_prefix="/patients/<int:patient_id>/doses")


@bp.route("/new", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
def new(patient_id: int):
    """Record a change of the regimen (once per submission, however often it is sent)."""
    patient = patient_for(current_user, patient_id, write=True)
    form = DoseChangeForm()
    key = request.form.get("submission_key") or secrets.token_urlsafe(24)
    if request.method == "GET":
        in_force = dosing.dose_in_force(as_pure_changes(patient.dose_changes), date.today())
        form.effective_date.data = date.today()
        form.route.data = in_force.route if in_force else "oral"
    elif form.validate_on_submit_with(today=date.today()):
        _change, created = add_dose_change(patient, form.as_entry(), current_user, key[:64])
        db.session.commit()
        if created:
            flash("The regimen change is recorded.", "success")
        return redirect(url_for("patients.detail", patient_id=patient.id))
    # The form shows the patient and the dose in force (again after refused input): a read.
    audit.record("view", entity="dose_form", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    return render_template(
        "patients/dose_form.html", form=form, patient=patient, submission_key=key
    )
