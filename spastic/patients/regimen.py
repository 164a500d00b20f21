"""The regimen as the pure core sees it: stored dose changes handed over as `dosing.DoseChange`,
and the dose in force of a stored patient (`clinical.regimen.regimen_in_force`, the one rule)."""

from collections.abc import Iterable
from datetime import date

from spastic.clinical import dosing
from spastic.clinical.regimen import Regimen, regimen_in_force
from spastic.models import DoseChange, Patient


def as_pure_changes(changes: Iterable[DoseChange]) -> list[dosing.DoseChange]:
    """Hand stored regimen rows to the pure dosing code."""
    return [
        dosing.DoseChange(
            effective_date=c.effective_date,
            route=c.route,
            daily_dose=c.daily_dose,
            unit=c.unit,
            sequence=c.id,
            stopped=c.stopped,
        )
        for c in changes
    ]


def regimen_of(patient: Patient, on: date) -> Regimen:
    """The patient's regimen in force on a date: every route's latest change on or before it."""
    return regimen_in_force(as_pure_changes(patient.dose_changes), on)
