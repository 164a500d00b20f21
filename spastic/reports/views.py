"""The summary PDF route: the physician's visit summary, served from storage."""

from flask import Blueprint
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import visit_for
from spastic.extensions import db
from spastic.reports.documents import pdf_response, summary_pdf_bytes

bp = Blueprint("reports", __name__)


@bp.get("/visits/<int:visit_id>/summary.pdf")
@login_required
def summary_pdf(visit_id: int):
    """Return the visit summary PDF (DRAFT on every page until the visit is signed)."""
    visit = visit_for(current_user, visit_id)
    response = pdf_response(visit, summary_pdf_bytes(visit))
    audit.record("download_pdf", entity="visit", entity_id=visit.id, patient_id=visit.patient_id)
    db.session.commit()
    return response
