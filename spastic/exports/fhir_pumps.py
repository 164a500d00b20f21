"""FHIR R4 resources of an intrathecal pump: the pump as a Device, each refill as a
MedicationAdministration.

Why MedicationAdministration and not Procedure: a refill puts a volume of drug at a stated
concentration into the patient's pump, and MedicationAdministration carries exactly that
(`dosage.dose` in mL, the medication's strength in ug/mL, `device` naming the pump), where a
Procedure has no place for a quantity. The residual drawn and the residual the app expected are
stated in the note. Units are UCUM (mL, ug/mL); the drug is named in text only, since
CLINICAL.md marks the RxNorm ingredient code as unverified. Plain data in, dicts out.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from spastic.exports.fhir_terms import (
    ROUTE_CODES,
    SNOMED,
    UCUM,
    PatientFacts,
    coding,
    concept,
    ref,
    resource_id,
)


@dataclass(frozen=True)
class RefillRecord:
    refill_id: int
    on: date
    volume_added_ml: Decimal
    concentration_mcg_ml: Decimal
    residual_drawn_ml: Decimal | None
    expected_residual_ml: Decimal | None
    first_fill: bool


@dataclass(frozen=True)
class PumpRecord:
    pump_id: int
    model: str
    reservoir_ml: Decimal
    alarm_ml: Decimal
    implant_date: date
    removed_on: date | None
    refills: tuple[RefillRecord, ...]


def pump_resources(patient: PatientFacts, pump: PumpRecord) -> list[dict]:
    """The pump's Device, then one MedicationAdministration per refill, oldest first."""
    return [_device(patient, pump), *(_refill(patient, pump, r) for r in pump.refills)]


def _quantity(value: Decimal, unit: str) -> dict:
    number = value.normalize()
    shown = int(number) if number == number.to_integral_value() else float(number)
    return {"value": shown, "unit": unit, "system": UCUM, "code": unit}


def _device(patient: PatientFacts, pump: PumpRecord) -> dict:
    return {
        "resourceType": "Device",
        "id": resource_id(patient, "pump", pump.pump_id),
        "status": "inactive" if pump.removed_on else "active",
        "deviceName": [{"name": pump.model, "type": "user-friendly-name"}],
        "type": concept("Implantable intrathecal drug infusion pump"),
        "patient": ref(patient),
        "property": [
            {
                "type": concept("Reservoir volume"),
                "valueQuantity": [_quantity(pump.reservoir_ml, "mL")],
            },
            {
                "type": concept("Low-reservoir alarm volume"),
                "valueQuantity": [_quantity(pump.alarm_ml, "mL")],
            },
        ],
        "note": [{"text": _implant_note(pump)}],
    }


def _implant_note(pump: PumpRecord) -> str:
    removed = f"; removed {pump.removed_on.isoformat()}" if pump.removed_on else ""
    return f"Implanted {pump.implant_date.isoformat()}{removed}"


def _refill(patient: PatientFacts, pump: PumpRecord, refill: RefillRecord) -> dict:
    strength = {
        "numerator": _quantity(refill.concentration_mcg_ml, "ug"),
        "denominator": _quantity(Decimal(1), "mL"),
    }
    medication = {
        "resourceType": "Medication",
        "id": "drug",
        "code": concept(f"Baclofen intrathecal {refill.concentration_mcg_ml.normalize():f} mcg/mL"),
        "ingredient": [{"itemCodeableConcept": concept("Baclofen"), "strength": strength}],
    }
    route_code, route_name = ROUTE_CODES["intrathecal"]
    return {
        "resourceType": "MedicationAdministration",
        "id": resource_id(patient, "refill", refill.refill_id),
        "contained": [medication],
        "status": "completed",
        "medicationReference": {"reference": "#drug"},
        "subject": ref(patient),
        "effectiveDateTime": refill.on.isoformat(),
        "device": [ref(patient, "pump", pump.pump_id)],
        "note": [{"text": _residual_note(refill)}],
        "dosage": {
            "text": "Refill of the implanted pump reservoir",
            "route": concept(route_name, coding(SNOMED, route_code, route_name)),
            "dose": _quantity(refill.volume_added_ml, "mL"),
        },
    }


def _residual_note(refill: RefillRecord) -> str:
    if refill.first_fill:
        return "Fill at implant."
    drawn = "not recorded" if refill.residual_drawn_ml is None else f"{refill.residual_drawn_ml} mL"
    expected = (
        "unknown" if refill.expected_residual_ml is None else f"{refill.expected_residual_ml} mL"
    )
    return f"Residual drawn out: {drawn}; expected by the app: {expected}."
