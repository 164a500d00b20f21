"""Discard a visit in progress or an unsigned visit, with a reason (never a signed one)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import draft_for, visit_for
from spastic.extensions import db
from spastic.filters import datetime_local
from spastic.models.visits import DISCARD_REASON_MAX
from spastic.visits import discards
from spastic.visits.page import discarded_message

bp = Blueprint("discard", __name__)


@bp.route("/drafts/<int:draft_id>/discard", methods=["GET", "POST"])
@login_required
def draft(draft_id: int):
    """Ask why, then discard a visit in progress (its input is kept, but no longer offered)."""
    row = draft_for(current_user, draft_id)
    if row.consumed_at is not None:  # it became a visit: discard that instead
        return redirect(url_for("discard.visit", visit_id=row.visit_id))
    what = f"the visit in progress (last saved {datetime_local(row.updated_at)})"
    return _discard(row, "draft", what, discards.discard_draft)


@bp.route("/visits/<int:visit_id>/discard", methods=["GET", "POST"])
@login_required
def visit(visit_id: int):
    """Ask why, then discard an unsigned visit; a signed one is amended instead."""
    row = visit_for(current_user, visit_id, write=True, discarded=True)
    if row.status == "signed":
        flash("A signed visit cannot be discarded; correct it with an amendment.", "error")
        return redirect(url_for("visits.detail", visit_id=row.id))
    what = f"the unsigned visit of {row.visit_date:%-d %b %Y}"
    return _discard(row, "visit", what, discards.discard_visit)


def _discard(row, entity: str, what: str, discard):
    patient_page = url_for("patients.detail", patient_id=row.patient_id)
    if row.discarded_at is not None:  # a double tap or an old tab: nothing happens twice
        flash(discarded_message(row), "info")
        return redirect(patient_page)
    reason = (request.form.get("reason") or "").strip()
    error = discards.reason_problem(reason) if request.method == "POST" else None
    if request.method == "POST" and error is None:
        try:
            discard(row, current_user, reason)
        except discards.NotDiscardable:
            db.session.rollback()
            abort(409)
        db.session.commit()
        flash(f"Discarded {what}. It is kept in the audit trail, not shown as a visit.", "info")
        return redirect(patient_page)
    audit.record("view", entity=f"discard_{entity}", entity_id=row.id, patient_id=row.patient_id)
    db.session.commit()
    return render_template(
        "visits/discard.html",
        row=row,
        patient=row.patient,
        what=what,
        reason=reason,
        error=error,
        reason_max=DISCARD_REASON_MAX,
    ), 422 if error else 200
