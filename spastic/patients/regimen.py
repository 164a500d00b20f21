"""The regimen as the pure core sees it: stored dose changes handed over as `dosing.DoseChange`."""

from collections.abc import Iterable

from spastic.clinical import dosing
from spastic.models import DoseChange


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
