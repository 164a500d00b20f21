"""The summary PDF route, and the summary queued when a visit is signed or amended."""

from flask import Blueprint, abort, request
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import visit_for
from spastic.extensions import db
from spastic.models import Visit
from spastic.reports import documents
from spastic.reports.known import current_version
from spastic.reports.queue import summary_queue
from spastic.visits.records import summary_due

bp = Blueprint("reports", __name__)


@summary_due.connect
def _queue_signed_summary(app, visit_id: int) -> None:
    """A signature or amendment was committed: have that version's summary rendered and kept,
    off this request."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return
    version = current_version(visit)
    db.session.rollback()  # hold no transaction (on SQLite a POST's holds the write lock)
    summary_queue(app).submit(visit_id, version)


@bp.get("/visits/<int:visit_id>/summary.pdf")
@login_required
def summary_pdf(visit_id: int):
    """Return the visit summary PDF, the newest version or `?version=n` (DRAFT until signed)."""
    version = request.args.get("version", type=int)
    if "version" in request.args and version is None:
        abort(404)
    stored = documents.stored_copy(current_user, visit_id, version)
    if stored is not None:  # the usual case, in one query
        response = documents.named_pdf_response(stored.mrn, stored.visit_date, stored.pdf)
        patient_id = stored.patient_id
    else:
        visit = visit_for(current_user, visit_id)
        try:
            body = documents.summary_pdf_bytes(visit, version)
        except ValueError:
            abort(404)
        response, patient_id = documents.pdf_response(visit, body), visit.patient_id
    changes = {"version": (None, version)} if version is not None else None
    audit.record(
        "download_pdf",
        entity="visit",
        entity_id=visit_id,
        patient_id=patient_id,
        changes=changes,
    )  # written at the end of this request, before the response leaves (database.py)
    return response
