"""Review and sign: one page shows what will be signed, against the previous signed visit."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import visit_for
from spastic.accounts import password_checks
from spastic.extensions import db
from spastic.filters import time_local
from spastic.visits import records as visit_records
from spastic.visits import signing
from spastic.visits.page import visit_page_context

bp = Blueprint("signing", __name__)


@bp.get("/visits/<int:visit_id>/review")
@login_required
def review(visit_id: int):
    """Show an unsigned visit as it will be signed, with the password and Sign."""
    visit = visit_for(current_user, visit_id, write=True)
    if visit.status == "signed":
        return redirect(url_for("visits.detail", visit_id=visit.id))
    audit.record("view", entity="review", entity_id=visit.id, patient_id=visit.patient_id)
    db.session.commit()
    return render_template("visits/review.html", **_review_context(visit))


@bp.post("/visits/<int:visit_id>/sign")
@login_required
@password_checks.reauth_rate_limit
def sign(visit_id: int):
    """Sign with the password again; the visit becomes read-only."""
    visit = visit_for(current_user, visit_id, write=True)
    db.session.refresh(visit, with_for_update=True)  # an edit being saved finishes first
    if visit.status == "signed":
        return redirect(url_for("visits.detail", visit_id=visit.id))
    meaning = request.form.get("meaning", "")
    errors = _version_problem(visit)
    if meaning not in signing.SIGNATURE_MEANINGS:
        errors["meaning"] = "Choose what your signature means."
    about = {"entity": "visit", "entity_id": visit.id, "patient_id": visit.patient_id}
    password = request.form.get("password", "")
    if problem := password_checks.reauthenticate(password, purpose="sign", **about):
        errors["password"] = f"{problem} The visit is not signed."
    if errors:
        audit.record(
            "sign_refused", entity="visit", entity_id=visit.id, patient_id=visit.patient_id
        )
        db.session.commit()
        context = _review_context(visit, sign_errors=errors, chosen_meaning=meaning)
        return render_template("visits/review.html", **context), (
            409 if "changed" in errors else 422
        )
    signing.sign(visit, current_user, meaning)
    db.session.commit()
    visit_records.summary_due.send(current_app._get_current_object(), visit_id=visit.id)
    flash(
        f"Signed {time_local(visit.signed_at)} by {current_user.name}. It can no longer be "
        "edited; corrections are amendments.",
        "success",
    )
    return redirect(url_for("visits.detail", visit_id=visit.id))


def _version_problem(visit) -> dict:
    # The signer signs the version they looked at: without it (missing or not a number) there
    # is no telling whether the notes changed since, so it is refused like a changed one.
    seen = request.form.get("version", type=int)
    if seen is None:
        return {
            "changed": "The page did not say which version of the visit you checked. "
            "It is shown above as it is now: check it, then sign again."
        }
    if seen != visit.version:
        return {
            "changed": f"The visit was changed at {time_local(visit.updated_at)} since you "
            "opened it. It is shown above as it is now: check it, then sign again."
        }
    return {}


def _review_context(visit, **extra) -> dict:
    context = visit_page_context(visit)
    # Sides graded neither now nor at the previous visit go on one line, to keep the page short.
    blank = [r for r in context["rows"] if r["now"] is None and r["before"] is None]
    return {
        "meanings": signing.SIGNATURE_MEANINGS,
        "sign_errors": {},
        "chosen_meaning": None,
        **context,
        "rows": [r for r in context["rows"] if r not in blank],
        "not_assessed": [r["label"] for r in blank],
        **extra,
    }
