"""The worklist as CSV, for clinics that schedule in another system."""

import csv
import io
from datetime import date

from flask import Blueprint, Response, abort, request
from flask_login import current_user

from spastic.access import role_required
from spastic.exports.spreadsheet import safe_cell
from spastic.patients import worklist
from spastic.patients.worklist import audit_shown

bp = Blueprint("worklist_export", __name__)
CSV_COLUMNS = (
    "mrn",
    "patient_name",
    "birth_date",
    "last_visit",
    "next_review",
    "review_reason",
    "refill_due",
    "visit_in_progress",
    "open_flags",
)


@bp.get("/worklist.csv")
@role_required("therapist", "physician")
def csv_file():
    """The worklist as CSV, for clinics that schedule in another system."""
    show = request.args.get("show", "all")
    if show not in worklist.FILTERS:
        abort(404)
    rows = worklist.rows(current_user, date.today(), show)
    audit_shown("export", rows, show)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            safe_cell(value)
            for value in (
                r.mrn,
                r.name,
                r.birth_date.isoformat(),
                r.last_visit.isoformat() if r.last_visit else "",
                r.due.review_date.isoformat(),
                r.due.review_reason,
                r.refill_due.isoformat() if r.refill_due else "",
                "yes" if r.draft_open else "",
                " | ".join(f"{f.severity}: {f.message}" for f in r.flags),
            )
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="worklist-{date.today()}.csv"'},
    )
