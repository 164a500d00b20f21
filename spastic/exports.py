"""Exports of a patient's signed visits: the FHIR R4 Bundle (with stored PDF summaries) and CSV.

Both hold signed visits only: a draft can still change and nobody has vouched for it. Values
are the amended ones (`effective_content`); the CSV says per row whether the visit was amended.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date

from flask import Blueprint, Response, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from spastic import audit, fhir
from spastic.access import patient_for
from spastic.clinical import dosing, scales
from spastic.extensions import db
from spastic.models import Patient, SummaryDocument, Visit, utcnow
from spastic.patients.regimen import as_pure_changes
from spastic.visits.content import as_record, effective_content, signed_visits

bp = Blueprint("exports", __name__, url_prefix="/patients/<int:patient_id>")

CSV_COLUMNS = (
    "mrn",
    "patient_name",
    "visit_date",
    "visit_id",
    "status",
    "rater",
    "muscle",
    "muscle_label",
    "side",
    "mas_grade",
    "mas_index",
    "pain_now",
    "pain_worst",
    "penn_frequency",
    "penn_severity",
    "route",
    "daily_dose",
    "dose_unit",
    "amended",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def patient_facts(patient: Patient) -> fhir.PatientFacts:
    """Hand a stored patient to the FHIR builder."""
    return fhir.PatientFacts(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        sex=patient.sex,
    )


def visit_facts(visit: Visit) -> fhir.VisitFacts:
    """Hand a stored visit (amendments applied) to the FHIR builder."""
    return fhir.VisitFacts(
        record=as_record(visit), amended=bool(visit.amendments), signed=visit.status == "signed"
    )


def patient_bundle_for(patient: Patient) -> dict:
    """Build the patient's Bundle from the database: signed visits and their stored summaries."""
    visits = signed_visits(patient.id)
    return fhir.patient_bundle(
        patient_facts(patient),
        [visit_facts(v) for v in visits],
        as_pure_changes(patient.dose_changes),
        as_of=date.today(),
        documents=stored_summaries([v.id for v in visits]),
        timestamp=utcnow(),
    )


def stored_summaries(visit_ids: list[int]) -> list[fhir.SummaryPdf]:
    """Describe the newest stored PDF summary of each visit, without loading the PDF bytes."""
    columns = (SummaryDocument.visit_id, SummaryDocument.sha256, SummaryDocument.size)
    rows = db.session.execute(
        select(*columns, SummaryDocument.created_at)
        .where(SummaryDocument.visit_id.in_(visit_ids))
        .order_by(SummaryDocument.id)
    ).all()
    newest = {row.visit_id: row for row in rows}
    return [
        fhir.SummaryPdf(
            visit_id=row.visit_id,
            size=row.size,
            url=url_for("reports.summary_pdf", visit_id=row.visit_id, _external=True),
            sha256=row.sha256,
            created=row.created_at,
        )
        for row in newest.values()
    ]


def visit_bundle_for(visit: Visit) -> dict:
    """Build one visit's Bundle from the database, for embedding in its PDF."""
    patient = visit.patient
    return fhir.visit_bundle(
        patient_facts(patient), visit_facts(visit), as_pure_changes(patient.dose_changes)
    )


def csv_rows(patient: Patient, visits: Iterable[Visit]) -> Iterator[list]:
    """Yield the CSV rows: per visit, one per recorded muscle-side in `scales.MUSCLES` order.

    A visit without any MAS row still gets one row (muscle columns empty), so its pain,
    spasms and dose are not lost.
    """
    changes = as_pure_changes(patient.dose_changes)
    for visit in visits:
        content = effective_content(visit)
        record = as_record(visit)
        in_force = dosing.dose_in_force(changes, record.visit_date)
        common = {
            "mrn": patient.mrn,
            "patient_name": f"{patient.family_name}, {patient.given_name}",
            "visit_date": record.visit_date.isoformat(),
            "visit_id": visit.id,
            "status": visit.status,
            "rater": record.rater,
            "pain_now": record.pain_now,
            "pain_worst": record.pain_worst,
            "penn_frequency": record.penn_frequency,
            "penn_severity": record.penn_severity,
            **_dose_columns(in_force),
            "amended": "yes" if visit.amendments else "no",
        }
        for muscle, side, grade in _muscle_sides(content) or [(None, None, None)]:
            row = {**common, **_muscle_columns(muscle, side, grade)}
            yield [_cell(row[column]) for column in CSV_COLUMNS]


def _muscle_sides(content: dict) -> list[tuple[str, str, str | None]]:
    order = {m.code: i for i, m in enumerate(scales.MUSCLES)}
    found = [(*key.split(":")[1:], grade) for key, grade in content.items() if key[:4] == "mas:"]
    return sorted(found, key=lambda r: (order.get(r[0], len(order)), r[0], r[1]))


def _muscle_columns(muscle: str | None, side: str | None, grade: str | None) -> dict:
    known = scales.MUSCLE_BY_CODE.get(muscle) if muscle else None
    return {
        "muscle": muscle,
        "muscle_label": known.label if known else muscle,
        "side": side,
        "mas_grade": grade,
        "mas_index": scales.MAS_INDEX.get(grade) if grade is not None else None,
    }


def _dose_columns(in_force: dosing.DoseChange | None) -> dict:
    if in_force is None:
        return {"route": None, "daily_dose": None, "dose_unit": None}
    return {
        "route": in_force.route,
        "daily_dose": dosing.format_dose(in_force.daily_dose),
        "dose_unit": in_force.unit,
    }


def _cell(value) -> str:
    """Return a value as CSV text; text a spreadsheet would run as a formula gets a quote first.

    Numbers we write ourselves (ints, formatted doses) cannot start with a formula character.
    """
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[list]) -> str:
    """Write the header and rows as CSV text (RFC 4180 line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def _attachment(patient: Patient, suffix: str) -> str:
    safe_mrn = re.sub(r"[^A-Za-z0-9_-]+", "_", patient.mrn).strip("_") or "patient"
    return f'attachment; filename="{safe_mrn}-{date.today().isoformat()}.{suffix}"'
