"""FHIR R4 Bundles of a patient's visits: plain data in, JSON-ready dicts out (shape: CLINICAL.md).

The Bundle type is "collection", not "document": a document Bundle is an attested, signed
composition and needs a Composition resource first; in this app the attested document is the
signed PDF summary, and the Bundle is the machine-readable data set that goes with it (and inside
it). A collection carries the same resources without claiming to be a second signed record.

Every resource gets a stable urn:uuid (uuid5 of clinic, patient and what it is), so exporting
the same visit twice yields the same ids and references resolve inside the Bundle.
Values come from the amendment-applied record (`VisitRecord`); not-assessed MAS rows are absent
from `VisitRecord.grades`, so they produce no Observation.
"""

import base64
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from spastic.clinical import dosing, scales
from spastic.exports.fhir_pumps import PumpRecord, pump_resources
from spastic.exports.fhir_terms import (
    AMBULATORY,
    CATEGORY,
    GENDERS,
    LATERALITY,
    LOCAL_SYSTEM,
    MAS_CODE,
    MAS_GRADE_SYSTEM,
    MRN_TYPE,
    MUSCLE_ORDER,
    MUSCLE_SYSTEM,
    ORDINAL_VALUE,
    PAIN_LOINC,
    PENN_CODE,
    ROUTE_CODES,
    SIDE_CODES,
    SNOMED,
    UCUM,
    UCUM_UNITS,
    URN_BASE,
    PatientFacts,
    SummaryPdf,
    VisitFacts,
    coding,
    concept,
    ref,
    resource_id,
)


def patient_bundle(
    patient: PatientFacts,
    visits: Iterable[VisitFacts],
    regimen: Sequence[dosing.DoseChange],
    *,
    as_of: date,
    documents: Iterable[SummaryPdf] = (),
    pumps: Iterable[PumpRecord] = (),
    timestamp: datetime | None = None,
) -> dict:
    """Build the patient's Bundle: Patient, each visit's Encounter and Observations, every
    regimen change as a MedicationStatement (status as of `as_of`), the given summaries, and
    each pump as a Device with its refills (`fhir_pumps`)."""
    visits = list(visits)
    resources = [_patient(patient)]
    for visit in visits:
        resources += [_encounter(patient, visit), *_observations(patient, visit)]
    resources += _regimen_history(patient, regimen, as_of)
    for pump in pumps:
        resources += pump_resources(patient, pump)
    known = {v.record.visit_id for v in visits}
    for document in documents:
        if document.visit_id not in known:
            raise ValueError(f"summary of visit {document.visit_id}, which is not in the Bundle")
        resources.append(_document_reference(patient, document))
    return _bundle(resources, timestamp)


def visit_bundle(
    patient: PatientFacts,
    visit: VisitFacts,
    regimen: Sequence[dosing.DoseChange],
    *,
    timestamp: datetime | None = None,
) -> dict:
    """Build one visit's Bundle (for the PDF): Patient, Encounter, Observations and the
    regimen in force on the visit date. Deterministic unless a timestamp is given."""
    on = visit.record.visit_date
    in_force = dosing.regimen_on(regimen, on).values()
    statements = [_medication_statement(patient, c, None, on) for c in in_force]
    resources = [_patient(patient), _encounter(patient, visit), *_observations(patient, visit)]
    return _bundle([*resources, *statements], timestamp)


def _bundle(resources: list[dict], timestamp: datetime | None) -> dict:
    bundle = {"resourceType": "Bundle", "type": "collection"}
    if timestamp is not None:
        bundle["timestamp"] = timestamp.isoformat()
    bundle["entry"] = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    return bundle


def _patient(p: PatientFacts) -> dict:
    mrn = {"use": "usual", "type": MRN_TYPE, "system": f"{URN_BASE}:clinic:{p.clinic_id}:mrn"}
    return {
        "resourceType": "Patient",
        "id": resource_id(p),
        "identifier": [{**mrn, "value": p.mrn}],
        "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
        "gender": GENDERS.get(p.sex, "unknown"),
        "birthDate": p.birth_date.isoformat(),
    }


def _encounter(p: PatientFacts, visit: VisitFacts) -> dict:
    record = visit.record
    day = record.visit_date.isoformat()
    encounter = {
        "resourceType": "Encounter",
        "id": resource_id(p, "visit", record.visit_id),
        # Encounter has no "amended" status: corrections show on its Observations.
        "status": "finished" if visit.signed else "in-progress",
        "class": AMBULATORY,
        "type": [concept("Spasticity clinic visit")],
        "subject": ref(p),
        "period": {"start": day, "end": day},
    }
    if record.rater.strip():
        encounter["participant"] = [{"individual": {"display": record.rater}}]
    return encounter


def _observations(p: PatientFacts, visit: VisitFacts) -> list[dict]:
    record = visit.record
    observations = [
        _mas_observation(p, visit, muscle, side, grade)
        for (muscle, side), grade in sorted(record.grades.items(), key=_muscle_order)
    ]
    pain = (("pain-now", record.pain_now), ("pain-worst-24h", record.pain_worst))
    observations += [_pain_observation(p, visit, kind, v) for kind, v in pain if v is not None]
    if record.penn_frequency is not None:
        observations.append(_penn_observation(p, visit))
    return observations


def _muscle_order(item) -> tuple:
    (muscle, side), _grade = item
    return (MUSCLE_ORDER.get(muscle, len(MUSCLE_ORDER)), muscle, side)


def _observation(p: PatientFacts, visit: VisitFacts, key: tuple, category: str) -> dict:
    record = visit.record
    status = "amended" if visit.amended else "final"
    observation = {
        "resourceType": "Observation",
        "id": resource_id(p, "visit", record.visit_id, *key),
        "status": status if visit.signed else "preliminary",
        "category": [{"coding": [coding(CATEGORY, category)]}],
        "subject": ref(p),
        "encounter": ref(p, "visit", record.visit_id),
        "effectiveDateTime": record.visit_date.isoformat(),
    }
    if record.rater.strip():
        observation["performer"] = [{"display": record.rater}]
    return observation


def _mas_observation(p: PatientFacts, visit: VisitFacts, muscle: str, side: str, grade: str):
    label = scales.MUSCLE_BY_CODE[muscle].label
    side_code, side_label = SIDE_CODES[side]
    ordinal = {"url": ORDINAL_VALUE, "valueDecimal": scales.mas_index(grade)}
    grade_coding = {"extension": [ordinal], **coding(MAS_GRADE_SYSTEM, grade, grade)}
    laterality = concept(side_label, coding(SNOMED, side_code, side_label))
    body_site = {
        "extension": [{"url": LATERALITY, "valueCodeableConcept": laterality}],
        **concept(f"{label} - {side_label}", coding(MUSCLE_SYSTEM, muscle, label)),
    }
    observation = {
        **_observation(p, visit, ("mas", muscle, side), "exam"),
        "code": MAS_CODE,
        "bodySite": body_site,
        "valueCodeableConcept": concept(grade, grade_coding),
    }
    if (carried := visit.carried_from.get((muscle, side))) is not None:
        # Kept from an earlier visit without a new examination: say so where the grade is.
        text = f"Carried forward from the visit of {carried.isoformat()}, not re-examined."
        observation["note"] = [{"text": text}]
    return observation


def _pain_observation(p: PatientFacts, visit: VisitFacts, kind: str, score: int) -> dict:
    if kind == "pain-now":
        code = concept("Pain now (0-10 numeric rating)", PAIN_LOINC)
    else:  # the same LOINC scale, narrowed by our own code to the worst of the last 24 hours
        worst = coding(LOCAL_SYSTEM, kind, "Worst pain in the last 24 hours")
        code = concept("Worst pain in the last 24 hours (0-10 numeric rating)", PAIN_LOINC, worst)
    return {**_observation(p, visit, (kind,), "survey"), "code": code, "valueInteger": score}


def _penn_observation(p: PatientFacts, visit: VisitFacts) -> dict:
    record = visit.record
    parts = [("penn-frequency", "Penn spasm frequency (0-4)", record.penn_frequency)]
    if record.penn_severity is not None:
        parts.append(("penn-severity", "Penn spasm severity (1-3)", record.penn_severity))
    components = [
        {"code": concept(text, coding(LOCAL_SYSTEM, code)), "valueInteger": value}
        for code, text, value in parts
    ]
    return {
        **_observation(p, visit, ("penn",), "survey"),
        "code": PENN_CODE,
        "component": components,
    }


def _regimen_history(p: PatientFacts, regimen: Sequence[dosing.DoseChange], as_of: date):
    ordered = sorted(regimen, key=lambda c: (c.effective_date, c.sequence))
    statements = []
    for position, change in enumerate(ordered):
        later = (c for c in ordered[position + 1 :] if c.route == change.route)
        statements.append(_medication_statement(p, change, next(later, None), as_of))
    return statements


def _medication_statement(
    p: PatientFacts, change: dosing.DoseChange, replaced_by: dosing.DoseChange | None, as_of: date
) -> dict:
    """One regimen change; `replaced_by` is the next change of the same route, if any."""
    start = change.effective_date.isoformat()
    ended = replaced_by is not None and replaced_by.effective_date <= as_of
    if change.effective_date > as_of:
        status = "intended"
    else:
        status = "stopped" if change.stopped else "completed" if ended else "active"
    statement = {
        "resourceType": "MedicationStatement",
        "id": resource_id(p, "dose", change.sequence),
        "status": status,
        # Text only: CLINICAL.md marks the RxNorm ingredient code 1292 as unverified.
        "medicationCodeableConcept": concept("Baclofen"),
        "subject": ref(p),
        "dosage": [_dosage(change)],
    }
    if change.stopped:
        statement["effectiveDateTime"] = start
    else:
        end = {"end": replaced_by.effective_date.isoformat()} if ended else {}
        statement["effectivePeriod"] = {"start": start, **end}
    return statement


def _dosage(change: dosing.DoseChange) -> dict:
    route_label = scales.ROUTES.get(change.route or "", "route not recorded")
    if change.stopped:
        dosage = {"text": f"{route_label}: stopped"}
    else:
        amount = dosing.format_dose(change.daily_dose)
        dosage = {"text": f"{amount} {change.unit or '(unit not recorded)'} {route_label.lower()}"}
    if change.route in ROUTE_CODES:
        dosage["route"] = concept(route_label, coding(SNOMED, *ROUTE_CODES[change.route]))
    if not change.stopped and change.is_valid:
        ucum = UCUM_UNITS[change.unit]
        quantity = {"value": _number(change.daily_dose), "unit": ucum, "system": UCUM, "code": ucum}
        dosage["doseAndRate"] = [{"doseQuantity": quantity}]
    return dosage


def _document_reference(p: PatientFacts, document: SummaryPdf) -> dict:
    """One stored summary version; an amended version "replaces" the one before, which is
    "superseded" (still retrievable at its own URL, with its own digest)."""
    title = (
        "Visit summary" if document.version == 1 else f"Visit summary, version {document.version}"
    )
    attachment = {
        "contentType": "application/pdf",
        "url": document.url,
        "size": document.size,
        "title": title,
    }
    if document.sha1:
        attachment["hash"] = base64.b64encode(bytes.fromhex(document.sha1)).decode("ascii")
    reference = {
        "resourceType": "DocumentReference",
        "id": _document_id(p, document),
        "status": "current" if document.current else "superseded",
        "docStatus": "final",
        "type": concept("Spasticity visit summary"),
        "subject": ref(p),
        "content": [{"attachment": attachment}],
        "context": {"encounter": [ref(p, "visit", document.visit_id)]},
    }
    if document.sha256:
        ni = base64.urlsafe_b64encode(bytes.fromhex(document.sha256)).rstrip(b"=").decode()
        reference["masterIdentifier"] = {
            "system": "urn:ietf:rfc:3986",
            "value": f"ni:///sha-256;{ni}",
        }
    if document.replaces is not None:
        target = {"reference": f"urn:uuid:{_document_id(p, document.replaces)}"}
        reference["relatesTo"] = [{"code": "replaces", "target": target}]
    if document.created is not None:
        reference["date"] = attachment["creation"] = document.created.isoformat()
    return reference


def _document_id(p: PatientFacts, document: SummaryPdf) -> str:
    digest = document.sha256 or document.sha1
    return resource_id(p, "visit", document.visit_id, "summary", digest or document.url)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
