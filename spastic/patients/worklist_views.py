"""The worklist (who is due, in order of urgency) and booking a patient's next dates."""

from datetime import date

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from spastic import audit
from spastic.access import patient_for, role_required
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.patients import worklist, worklist_entries, worklist_hooks  # noqa: F401 - hooks
from spastic.patients.history import visits_of
from spastic.patients.pump_forms import ScheduleForm
from spastic.patients.worklist import audit_shown

bp = Blueprint("worklist", __name__, cli_group=None)
PAGE = worklist_entries.PAGE


@bp.app_template_global("schedule_form_for")
def schedule_form_for(patient) -> ScheduleForm:
    """The booking form filled from the patient (the visit page includes it too)."""
    return ScheduleForm(obj=patient, formdata=None)


@bp.get("/worklist")
@role_required("therapist", "physician")
def index():
    """Show who is due, most urgent first (50 at a time, read from the stored entries)."""
    show = request.args.get("show", "all")
    if show not in worklist.FILTERS:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    shown, total = worklist_entries.page(current_user, date.today(), show, page)
    audit_shown("list", shown, show)
    return render_template(
        "patients/worklist.html",
        rows=shown,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        show=show,
        filters=worklist.FILTERS,
        today=date.today(),
    )


@bp.cli.command("worklist-rebuild")
@click.option("--clinic", "clinic_id", type=int, help="Only this clinic's patients (its id).")
def rebuild_command(clinic_id: int | None) -> None:
    """Recompute every patient's stored worklist entry (after a migration, or to repair)."""
    count = worklist_entries.rebuild(clinic_id=clinic_id)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # fresh statistics for the planner
        db.session.execute(text("ANALYZE worklist_entry"))
        db.session.commit()
    click.echo(f"Worklist entries rebuilt for {count} patients.")


@bp.post("/patients/<int:patient_id>/schedule")
@reshow_on_expired_form
@login_required
def book(patient_id: int):
    """Book the patient's next review and refill, and the label's risk flags."""
    patient = patient_for(current_user, patient_id, write=True)
    form = ScheduleForm()
    if not form.validate_on_submit():
        for name, errors in form.errors.items():
            flash(f"{getattr(form, name).label.text}: {' '.join(errors)}", "error")
        return _back(patient)
    before = {name: getattr(patient, name) for name in _SCHEDULED}
    after = {name: getattr(form, name).data for name in _SCHEDULED}
    changes = audit.changed_fields(before, after)
    for name, value in after.items():
        setattr(patient, name, value)
    if changes:
        audit.record(
            "update", entity="patient", entity_id=patient.id, patient_id=patient.id, changes=changes
        )
    db.session.commit()
    flash("Next dates booked." if changes else "Nothing changed.", "success")
    return _back(patient)


def _back(patient):
    """Back to the visit the booking was made from (one of this patient's), else the patient."""
    visit_id = request.form.get("return_visit_id", type=int)
    if visit_id and any(v.id == visit_id for v in visits_of(patient.id)):
        return redirect(url_for("visits.detail", visit_id=visit_id, _anchor="schedule"))
    return redirect(url_for("patients.detail", patient_id=patient.id, _anchor="schedule"))


_SCHEDULED = (
    "next_review_date",
    "next_refill_date",
    "review_interval_days",
    "communication_difficulty",
    "prior_withdrawal",
)
