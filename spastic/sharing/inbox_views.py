"""The physician inbox: summaries for them, opening one (read), acknowledging it; the clinic's
list of summaries not acknowledged in time."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import role_required, visit_for
from spastic.extensions import db
from spastic.reports.known import current_version, known_for
from spastic.reports.summary import trend_until
from spastic.sharing import acknowledgements, inbox

bp = Blueprint("inbox", __name__)
# The visit page includes sharing/_acknowledgements.html, which asks for its own data.
bp.add_app_template_global(acknowledgements.visit_record, "summary_record")


@bp.get("/inbox")
@role_required("physician")
def index():
    """List the summaries for this physician, newest first, unread in bold."""
    items = inbox.inbox_for(current_user)
    if items:
        ids = sorted({item.patient_id for item in items})
        audit.record_shown("list", entity="inbox", patient_ids=ids)
    else:
        audit.record("list", entity="inbox")
    db.session.commit()
    return render_template("sharing/inbox.html", items=items, unread=sum(not i.read for i in items))


@bp.get("/inbox/<int:visit_id>")
@login_required
def summary(visit_id: int):
    """Open one summary (its newest version): the opening, audited, marks it read."""
    visit = _signed_for_physician(visit_id)
    version = current_version(visit)
    trend = trend_until(visit, known_for(visit, version))
    mine = [
        a for a in acknowledgements.acknowledgements_of(visit) if a.physician_id == current_user.id
    ]
    inbox.record_read(visit, version)
    db.session.commit()
    return render_template(
        "sharing/inbox_summary.html",
        visit=visit,
        patient=visit.patient,
        version=version,
        headline=inbox.inbox_headline(trend, visit),
        flags=trend.flags,
        acknowledged={a.version: a for a in mine},
        versions=acknowledgements.versions_of(visit),
    )


@bp.post("/inbox/<int:visit_id>/acknowledge")
@login_required
def acknowledge(visit_id: int):
    """Record that this physician reviewed the summary version they saw (once)."""
    visit = _signed_for_physician(visit_id)
    version = request.form.get("version", type=int)
    if version is None or not 1 <= version <= current_version(visit):
        abort(409)
    created = acknowledgements.acknowledge(visit, version, current_user)
    db.session.commit()
    if created:
        flash(
            f"Acknowledged: summary version {version} of {visit.patient.display_name}.", "success"
        )
    else:
        flash("You had already acknowledged this summary.", "info")
    return redirect(url_for("inbox.summary", visit_id=visit.id))


@bp.get("/summaries/unacknowledged")
@role_required("therapist", "physician")
def unacknowledged():
    """List the summaries no physician has acknowledged within the clinic's number of days."""
    days, waiting = acknowledgements.overdue(current_user)
    if waiting:
        ids = sorted({w.visit.patient_id for w in waiting})
        audit.record_shown("list", entity="unacknowledged_summaries", patient_ids=ids)
    else:
        audit.record("list", entity="unacknowledged_summaries")
    db.session.commit()
    return render_template("sharing/unacknowledged.html", days=days, waiting=waiting)


def _signed_for_physician(visit_id: int):
    """The signed visit, for a physician on its patient's care team: 404 for anyone else who
    may not see the patient, 403 for a therapist of the clinic, 404 for a draft."""
    visit = visit_for(current_user, visit_id)
    if current_user.role != "physician":
        abort(403)
    if visit.status != "signed":
        abort(404)
    return visit
