"""The facts our exports are built from: stored rows turned into plain FHIR facts and Bundles."""

from datetime import date

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from spastic.exports import fhir, fhir_pumps
from spastic.extensions import db
from spastic.models import Patient, Pump, SummaryDocument, Visit, utcnow
from spastic.patients.regimen import as_pure_changes
from spastic.visits.content import as_record, carried_in, effective_content, signed_visits


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
    carried = {key: when for key, (_grade, when) in carried_in(effective_content(visit)).items()}
    return fhir.VisitFacts(
        record=as_record(visit),
        amended=bool(visit.amendments),
        signed=visit.status == "signed",
        carried_from=carried,
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
        pumps=pump_records(patient.id),
        timestamp=utcnow(),
    )


def pump_records(patient_id: int) -> list[fhir_pumps.PumpRecord]:
    """Every pump of the patient (replaced ones too) with its refills, for the Bundle."""
    rows = db.session.scalars(
        select(Pump)
        .where(Pump.patient_id == patient_id)
        .options(selectinload(Pump.refills))
        .order_by(Pump.implant_date, Pump.id)
    )
    return [
        fhir_pumps.PumpRecord(
            pump_id=row.id,
            model=row.model,
            reservoir_ml=row.reservoir_ml,
            alarm_ml=row.alarm_ml,
            implant_date=row.implant_date,
            removed_on=row.removed_on,
            refills=tuple(
                fhir_pumps.RefillRecord(
                    refill_id=r.id,
                    on=r.refill_date,
                    volume_added_ml=r.volume_added_ml,
                    concentration_mcg_ml=r.concentration_mcg_ml,
                    residual_drawn_ml=r.residual_drawn_ml,
                    expected_residual_ml=r.expected_residual_ml,
                    first_fill=r.first_fill,
                )
                for r in row.refills
            ),
        )
        for row in rows
    ]


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
