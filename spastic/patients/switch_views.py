"""Switch route: stop the route in force and start the other, both changes in one POST."""

import secrets
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from spastic import audit
from spastic.access import patient_for
from spastic.clinical.dosing import format_dose
from spastic.errors import reshow_on_expired_form
from spastic.extensions import db
from spastic.models import DoseChange
from spastic.patients.records import add_dose_change
from spastic.patients.regimen import regimen_of
from spastic.patients.switch_forms import SwitchRouteForm

bp = Blueprint("route_switch", __name__, url_prefix="/patients/<int:patient_id>/doses")


@bp.route("/switch", methods=["GET", "POST"])
@reshow_on_expired_form
@login_required
def new(patient_id: int):
    """Record a route switch once per submission: the old route's stop and the new start.

    The stop is an ordinary dose change to 0, so the abrupt-stop rule judges it
    (`clinical.withdrawal.abrupt_stop_flags`), like any other stop.
    """
    patient = patient_for(current_user, patient_id, write=True)
    form = SwitchRouteForm()
    key = (request.form.get("submission_key") or secrets.token_urlsafe(24))[:56]
    when = form.effective_date.data or date.today()
    regimen = regimen_of(patient, when)
    if request.method == "POST" and _already_recorded(patient.id, key):
        return redirect(url_for("patients.detail", patient_id=patient.id))
    if request.method == "GET":
        form.effective_date.data = date.today()
        current = regimen.active
        form.to_route.data = "intrathecal" if list(current) == ["oral"] else "oral"
    elif form.validate_switch(regimen, today=date.today()):
        (from_route, *_) = form.from_routes(regimen)
        switch = form.as_switch(from_route)
        add_dose_change(patient, switch.stop, current_user, f"{key}:stop")
        _change, created = add_dose_change(patient, switch.start, current_user, f"{key}:start")
        db.session.commit()
        if created:
            flash(
                f"The route switch is recorded: {from_route} stopped, {switch.start.route} "
                f"started at {format_dose(switch.start.daily_dose)} {switch.start.unit}.",
                "success",
            )
        return redirect(url_for("patients.detail", patient_id=patient.id))
    audit.record("view", entity="switch_form", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    return render_template(
        "patients/switch_form.html",
        form=form,
        patient=patient,
        submission_key=key,
        regimen=regimen,
    )


def _already_recorded(patient_id: int, key: str) -> bool:
    """The same form sent again after its switch was stored: answer as the first time."""
    found = db.session.scalar(
        select(DoseChange.id).where(
            DoseChange.submission_key == f"{key}:start", DoseChange.patient_id == patient_id
        )
    )
    return found is not None
