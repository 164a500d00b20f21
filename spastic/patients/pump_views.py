"""Intrathecal pump pages: record the pump, record a refill (therapists; physicians read)."""

import secrets
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import patient_for
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.patients import pumps
from spastic.patients.pump_forms import CONCENTRATIONS, PumpForm, RefillForm

bp = Blueprint("pumps", __name__, url_prefix="/patients/<int:patient_id>/pump")


@bp.route("/new", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
def new(patient_id: int):
    """Record the patient's implanted pump (replacing the previous one, if any)."""
    patient = patient_for(current_user, patient_id, write=True)
    form = PumpForm()
    if request.method == "POST":
        entry = form.checked_entry(today=date.today())
        if entry is not None:
            pumps.add_pump(patient, entry, current_user)
            db.session.commit()
            flash("The pump is recorded. Now record the fill at implant.", "success")
            return redirect(url_for("pumps.refill", patient_id=patient.id))
    audit.record("view", entity="pump_form", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    return render_template("patients/pump_form.html", form=form, patient=patient)


@bp.route("/refills/new", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
def refill(patient_id: int):
    """Record a refill (or the fill at implant) once per submission."""
    patient = patient_for(current_user, patient_id, write=True)
    row = pumps.active_pump(patient.id)
    if row is None:
        abort(404)
    form = RefillForm()
    key = request.form.get("submission_key") or secrets.token_urlsafe(24)
    if request.method == "POST" and pumps.refill_by_key(row, key[:64]) is not None:
        # Sent again (a double tap, a replay after a dropped connection): already recorded.
        return redirect(url_for("patients.detail", patient_id=patient.id, _anchor="pump"))
    first = not row.refills
    if request.method == "GET":
        form.refill_date.data = date.today()
        if row.refills:
            last = row.refills[-1].concentration_mcg_ml
            form.concentration.data = _choice_of(last)
            if form.concentration.data == "other":
                form.concentration_other.data = f"{last.normalize():f}"
    else:
        entry = form.checked_entry(date.today(), row.reservoir_ml, first)
        if entry is not None:
            try:
                _saved, created = pumps.add_refill(patient, row, entry, current_user, key[:64])
            except pumps.RefillRefused as refusal:
                form.refill_date.errors = [*form.refill_date.errors, str(refusal)]
            else:
                db.session.commit()
                if created:
                    flash("The refill is recorded; the pump's dates are updated.", "success")
                return redirect(url_for("patients.detail", patient_id=patient.id, _anchor="pump"))
    view = pumps.pump_view(patient, date.today(), row)
    on = form.refill_date.data or date.today()
    audit.record("view", entity="refill_form", entity_id=row.id, patient_id=patient.id)
    db.session.commit()
    return render_template(
        "patients/refill_form.html",
        form=form,
        patient=patient,
        pump=view,
        first=first,
        expected=None if first else pumps.expected_residual_for(patient, row, on),
        submission_key=key,
    )


def _choice_of(concentration) -> str:
    text = f"{concentration.normalize():f}"
    return text if text in CONCENTRATIONS else "other"
