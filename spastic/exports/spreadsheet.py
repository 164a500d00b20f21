"""The long-format CSV: one row per signed visit, muscle and side (spreadsheet-safe cells)."""

import csv
import io
from collections.abc import Iterable, Iterator

from spastic.clinical import dosing, scales
from spastic.clinical.regimen import regimen_in_force
from spastic.models import Patient, Visit
from spastic.patients.regimen import as_pure_changes
from spastic.visits.content import as_record, effective_content

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
    "mas_carried_from",  # added last: the visit date a grade was kept from, not re-examined
    "regimen",  # added last: the regimen in force, every route ("60 mg/day oral + ...")
)


# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_rows(patient: Patient, visits: Iterable[Visit]) -> Iterator[list]:
    """Yield the CSV rows: per visit, one per recorded muscle-side in `scales.MUSCLES` order.

    A visit without any MAS row still gets one row (muscle columns empty), so its pain,
    spasms and dose are not lost.
    """
    changes = as_pure_changes(patient.dose_changes)
    for visit in visits:
        content = effective_content(visit)
        record = as_record(visit)
        regimen = regimen_in_force(changes, record.visit_date)
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
            # route, daily_dose and dose_unit keep their meaning (the latest change of any
            # route in force); `regimen` says every route, from the same one definition.
            **_dose_columns(regimen.last_change),
            "amended": "yes" if visit.amendments else "no",
            "regimen": regimen.label,
        }
        for muscle, side, grade in _muscle_sides(content) or [(None, None, None)]:
            row = {**common, **_muscle_columns(muscle, side, grade)}
            carried = content.get(f"carried:{muscle}:{side}") if grade is not None else None
            row["mas_carried_from"] = carried
            yield [safe_cell(row[column]) for column in CSV_COLUMNS]


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


def safe_cell(value) -> str:
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
