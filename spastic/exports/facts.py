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


def visit_facts(visit: Visit, known_at=None) -> fhir.VisitFacts:
    """Hand a stored visit (amendments applied, those made by `known_at`) to the FHIR builder."""
    applied = [a for a in visit.amendments if known_at is None or a.created_at <= known_at]
    carried = carried_in(effective_content(visit, known_at))
    return fhir.VisitFacts(
        record=as_record(visit, known_at),
        amended=bool(applied),
        signed=visit.status == "signed",
        carried_from={key: when for key, (_grade, when) in carried.items()},
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
    """Describe every stored summary version of each visit (the newest current, each earlier
    one superseded by the next), without loading the PDF bytes."""
    columns = (SummaryDocument.visit_id, SummaryDocument.sha256, SummaryDocument.size)
    rows = db.session.execute(
        select(*columns, SummaryDocument.version, SummaryDocument.created_at)
        .where(SummaryDocument.visit_id.in_(visit_ids))
        .order_by(SummaryDocument.visit_id, SummaryDocument.version)
    ).all()
    newest = {row.visit_id: row.version for row in rows}
    found, before = [], {}
    for row in rows:
        url = url_for(
            "reports.summary_pdf", visit_id=row.visit_id, version=row.version, _external=True
        )
        document = fhir.SummaryPdf(
            visit_id=row.visit_id,
            size=row.size,
            url=url,
            sha256=row.sha256,
            created=row.created_at,
            version=row.version,
            replaces=before.get(row.visit_id),
            current=row.version == newest[row.visit_id],
        )
        before[row.visit_id] = document
        found.append(document)
    return found


def visit_bundle_for(visit: Visit, known_at=None, dose_changes=None) -> dict:
    """Build one visit's Bundle from the database, for embedding in its PDF (a frozen summary
    passes what was known when it was signed)."""
    patient = visit.patient
    changes = patient.dose_changes if dose_changes is None else dose_changes
    return fhir.visit_bundle(
        patient_facts(patient), visit_facts(visit, known_at), as_pure_changes(changes)
    )
