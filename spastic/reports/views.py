"""The summary PDF route, and the summary kept when a visit is signed or amended."""

from flask import Blueprint, abort, request
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import visit_for
from spastic.extensions import db
from spastic.reports.documents import pdf_response, store_summary, summary_pdf_bytes
from spastic.visits.records import summary_due

bp = Blueprint("reports", __name__)


@summary_due.connect
def _store_signed_summary(_app, visit_id: int) -> None:
    """A signature or amendment was committed: keep that version's summary now."""
    store_summary(visit_id)


@bp.get("/visits/<int:visit_id>/summary.pdf")
@login_required
def summary_pdf(visit_id: int):
    """Return the visit summary PDF, the newest version or `?version=n` (DRAFT until signed)."""
    visit = visit_for(current_user, visit_id)
    version = request.args.get("version", type=int)
    if "version" in request.args and version is None:
        abort(404)
    try:
        body = summary_pdf_bytes(visit, version)
    except ValueError:
        abort(404)
    response = pdf_response(visit, body)
    changes = {"version": (None, version)} if version is not None else None
    audit.record(
        "download_pdf",
        entity="visit",
        entity_id=visit_id,
        patient_id=visit.patient_id,
        changes=changes,
    )
    db.session.commit()
    return response
