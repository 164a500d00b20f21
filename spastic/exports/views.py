"""Export routes: a patient's signed visits as a FHIR R4 Bundle (with stored PDFs) and CSV.

Both hold signed visits only: a draft can still change and nobody has vouched for it. Values
are the amended ones (`effective_content`); the CSV says per row whether the visit was amended.
"""

import json
import re
from datetime import date

from flask import Blueprint, Response
from flask_login import current_user, login_required

from spastic import audit
from spastic.access import patient_for
from spastic.exports.facts import patient_bundle_for
from spastic.exports.spreadsheet import csv_rows, csv_text
from spastic.extensions import db
from spastic.models import Patient
from spastic.visits.content import signed_visits

bp = Blueprint("exports", __name__, url_prefix="/patients/<int:patient_id>")


@bp.get("/fhir")
@login_required
def fhir_bundle(patient_id: int):
    """Return the patient's signed visits and regimen as a FHIR R4 Bundle."""
    patient = patient_for(current_user, patient_id)
    bundle = patient_bundle_for(patient)
    audit.record("export", entity="fhir", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    response = Response(json.dumps(bundle, ensure_ascii=False), mimetype="application/fhir+json")
    response.headers["Content-Disposition"] = _attachment(patient, "fhir.json")
    return response


@bp.get("/export.csv")
@login_required
def csv_file(patient_id: int):
    """Return one row per signed visit, muscle and side, for spreadsheets."""
    patient = patient_for(current_user, patient_id)
    text = csv_text(csv_rows(patient, signed_visits(patient.id)))
    audit.record("export", entity="csv", entity_id=patient.id, patient_id=patient.id)
    db.session.commit()
    # The byte order mark makes spreadsheet programs read the file as UTF-8 (accents).
    response = Response("\ufeff" + text, mimetype="text/csv")
    response.headers["Content-Disposition"] = _attachment(patient, "csv")
    return response


def _attachment(patient: Patient, suffix: str) -> str:
    safe_mrn = re.sub(r"[^A-Za-z0-9_-]+", "_", patient.mrn).strip("_") or "patient"
    return f'attachment; filename="{safe_mrn}-{date.today().isoformat()}.{suffix}"'
