"""Patients: search, create, edit and the detail page with the regimen timeline."""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from spastic import audit
from spastic.access import patient_for, role_required
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.fields import choices
from spastic.models import Patient, Pump, Refill
from spastic.patients import pumps, search
from spastic.patients.forms import PatientForm
from spastic.patients.history import open_draft_of, visits_of
from spastic.patients.records import (
    DuplicateMRN,
    create_patient,
    physicians_of,
    snapshot,
    update_patient,
)
from spastic.patients.regimen import regimen_of

bp = Blueprint("patients", __name__, url_prefix="/patients")
# A few dose changes and physicians: joined into the patient's own query.
SHOWN_WITH_PATIENT = (joinedload(Patient.dose_changes), joinedload(Patient.care_team))
SHOWN_WITH_PUMP = (joinedload(Pump.refills).joinedload(Refill.performed_by),)


@bp.get("")
@role_required("therapist", "physician")
def index():
    """List the patients the user may see, found by the start of a name or MRN word."""
    query = (request.args.get("q") or "").strip()[:100]
    shown = search.page_size(request.args.get("shown", type=int))
    found = search.find(current_user, query, shown=shown, inside=request.args.get("inside") == "1")
    # No commit: the audit rows are written at the end of the request (a commit would only
    # expire the patients found, and the page would read each of them again).
    _audit_listing(found.patients, query)
    template = "patients/_results.html" if request.args.get("partial") else "patients/index.html"
    return render_template(
        template,
        found=found,
        patients=found.patients,
        q=query,
        page=search.PAGE,
        most_shown=search.MOST_SHOWN,
        can_look_inside=search.can_look_inside(query),
    )


@bp.route("/new", methods=["GET", "POST"])
@reshow_on_expired_form
@role_required("therapist")
def new():
    """Register a patient in the user's clinic."""
    form = _patient_form()
    if form.validate_on_submit():
        try:
            patient = create_patient(current_user.clinic_id, form.as_details())
        except DuplicateMRN:
            form.mrn.errors = ["Another patient of this clinic already has this MRN."]
        else:
            db.session.commit()
            flash(f"{patient.display_name} is registered.", "success")
            return redirect(url_for("patients.detail", patient_id=patient.id))
    return render_template("patients/form.html", form=form, patient=None)


@bp.get("/<int:patient_id>")
@login_required
def detail(patient_id: int):
    """Show a patient: details, care team, regimen timeline and the dose in force today."""
    # Five queries in all: the login session, this patient, its visits, the visit in progress
    # and the pump, each with what the page shows of it. No commit: the audit row is written
    # at the end of the request (a commit would only expire what was loaded).
    patient = patient_for(current_user, patient_id, load=SHOWN_WITH_PATIENT)
    in_force = regimen_of(patient, date.today())
    row = pumps.active_pump(patient.id, load=SHOWN_WITH_PUMP)
    pump = pumps.pump_view(patient, date.today(), row) if row else None
    audit.record("view", entity="patient", entity_id=patient.id, patient_id=patient.id)
    return render_template(
        "patients/detail.html",
        patient=patient,
        visits=visits_of(patient.id),
        open_draft=open_draft_of(patient.id, with_author=True),
        changes=list(reversed(patient.dose_changes)),
        in_force=in_force,
        today=date.today(),
        pump=pump,
        show_pump=pumps.shows_pump(patient, pump),
        show_refills=True,
    )


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
def edit(patient_id: int):
    """Edit a patient's details; a concurrent edit is shown, never silently overwritten."""
    patient = patient_for(current_user, patient_id, write=True)
    form = _patient_form(obj=patient)
    if request.method == "GET":
        form.care_team.data = [u.id for u in patient.care_team]
    posted_version = request.form.get("version", type=int)
    if form.validate_on_submit():
        if posted_version != patient.version:
            flash(
                "Someone else saved this patient while you were editing. Their values are "
                "now stored; your input is kept below - check it and save again.",
                "error",
            )
        else:
            try:
                changes = update_patient(patient, form.as_details())
            except DuplicateMRN:
                form.mrn.errors = ["Another patient of this clinic already has this MRN."]
            else:
                db.session.commit()
                flash("Saved." if changes else "Nothing changed.", "success")
                return redirect(url_for("patients.detail", patient_id=patient.id))
    # The form shows the stored details (again after refused input): a read of the record.
    audit.record("view", entity="patient_form", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    return render_template(
        "patients/form.html", form=form, patient=patient, stored=snapshot(patient)
    )


def _patient_form(obj=None) -> PatientForm:
    form = PatientForm(obj=obj)
    form.care_team.choices = choices({u.id: u.name for u in physicians_of(current_user.clinic_id)})
    return form


def _audit_listing(patients: list[Patient], query: str) -> None:
    """Name every patient a search showed (one row each, like every other read), with the query;
    a search that showed no one keeps its query alone."""
    searched = {"q": (None, query)} if query else None
    if not patients:
        audit.record("list", entity="patient", changes=searched)
    else:
        audit.record_shown(
            "list", entity="patient", patient_ids=[p.id for p in patients], changes=searched
        )
