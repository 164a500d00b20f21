"""Baclofen regimen: the dose in force, entry checks, and the thresholds the flags use.

Pure: dates, Decimals and the records in `spastic.records`; no app, no database.
Every numeric threshold is a `Threshold` in `THRESHOLDS` (clinical, with its CLINICAL.md wording)
or `ENTRY_LIMITS` (issue #2 plausibility limits), so tests can check each one's provenance.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from spastic.clinical import scales


@dataclass(frozen=True)
class Threshold:
    """A number a rule depends on, with the words of ../shared/CLINICAL.md it comes from."""

    key: str
    value: Decimal
    unit: str
    source: str
    quote: str | None  # verbatim from CLINICAL.md; None only for a spec-defined limit


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "oral_max",
        Decimal(80),
        "mg/day",
        "Baclofen tablet label",
        "Maximum recommended: 80 mg/day (20 mg QID)",
    ),
    Threshold(
        "oral_step",
        Decimal(15),
        "mg/day",
        "Baclofen tablet label, titration",
        "steps of about +15 mg/day no sooner than every 3 days",
    ),
    Threshold(
        "oral_step_days",
        Decimal(3),
        "days",
        "Baclofen tablet label, titration",
        "steps of about +15 mg/day no sooner than every 3 days",
    ),
    # The label's "about 1-2 weeks": a taper shorter than one week is abrupt (issue #4).
    Threshold(
        "taper_days",
        Decimal(7),
        "days",
        "Baclofen labels, abrupt withdrawal",
        "Reduce slowly (about 1-2 weeks)",
    ),
    Threshold(
        "it_step_spinal",
        Decimal(30),
        "% per 24 h",
        "Lioresal Intrathecal label",
        "+10-30% (spinal origin)",
    ),
    Threshold(
        "it_step_cerebral",
        Decimal(15),
        "% per 24 h",
        "Lioresal Intrathecal label",
        "+5-15% (cerebral origin)",
    ),
    Threshold(
        "egfr_avoid",
        Decimal(30),
        "mL/min/1.73m2",
        "AJKD 2017",
        "avoid if eGFR < 30 mL/min/1.73m2 or on dialysis",
    ),
    # CLINICAL.md says only "use caution, reduce dose" for renal impairment; the figure 60 is
    # the rule of issue #4 section 4 and is not in CLINICAL.md.
    Threshold(
        "egfr_caution",
        Decimal(60),
        "mL/min/1.73m2",
        "issue #4 section 4 (renal impairment: use caution, reduce dose; tablet label)",
        None,
    ),
)
THRESHOLD_BY_KEY: dict[str, Threshold] = {t.key: t for t in THRESHOLDS}

ENTRY_LIMITS: dict[str, Threshold] = {
    "oral": Threshold(
        "entry_oral_max", Decimal(300), "mg/day", "issue #2 plausibility limits", None
    ),
    "intrathecal": Threshold(
        "entry_it_max", Decimal(2000), "mcg/day", "issue #2 plausibility limits", None
    ),
    "days_ahead": Threshold(
        "entry_days_ahead", Decimal(7), "days", "issue #2 plausibility limits", None
    ),
}

SEVERITIES: tuple[str, ...] = ("info", "caution", "warning", "urgent")


@dataclass(frozen=True)
class DoseChange:
    """A dated change of the total daily dose; a stop is daily_dose 0 with stopped=True."""

    effective_date: date
    route: str | None
    daily_dose: Decimal
    unit: str | None
    sequence: int = 0  # entry order, breaks same-day ties
    stopped: bool = False

    @property
    def is_valid(self) -> bool:
        """True when route and unit are known and match, so the dose can join a series."""
        return self.route in scales.ROUTE_UNITS and self.unit == scales.ROUTE_UNITS[self.route]


@dataclass(frozen=True)
class Flag:
    """Something in the regimen or the visits that deserves a second look."""

    code: str
    severity: str  # "info" | "caution" | "warning"
    message: str
    source: str
    on: date | None
    related_visit_id: int | None = None
    dose_change: DoseChange | None = None  # the change the flag is about, when there is one
    thresholds: tuple[str, ...] = ()  # keys into THRESHOLD_BY_KEY


def dose_in_force(
    changes: Sequence[DoseChange], on: date, route: str | None = None
) -> DoseChange | None:
    """Return the latest change effective on or before `on` (same day: highest sequence)."""
    candidates = [
        (change.effective_date, change.sequence, position, change)
        for position, change in enumerate(changes)
        if change.effective_date <= on and (route is None or change.route == route)
    ]
    return max(candidates, key=lambda item: item[:3])[3] if candidates else None


def check_dose_entry(
    route: str | None,
    daily_dose: Decimal | None,
    unit: str | None,
    effective_date: date | None,
    today: date,
    stopping: bool = False,
) -> dict[str, str]:
    """Return {field name: sentence} for every problem in a dose entry; empty when acceptable.

    Limits are the issue #2 plausibility limits (oral 300 mg/day, intrathecal 2000 mcg/day,
    no more than 7 days ahead). Units: mg for oral, mcg for intrathecal, never mL (ISMP: Ozobax
    1 mg/mL and Fleqsuvy 5 mg/mL are easily confused).
    """
    errors: dict[str, str] = {}
    if route not in scales.ROUTES:
        errors["route"] = "Choose the route: oral or intrathecal."
    unit_error = _unit_error(route, unit)
    if unit_error:
        errors["unit"] = unit_error
    dose_error = _dose_error(route, daily_dose, stopping)
    if dose_error:
        errors["daily_dose"] = dose_error
    days_ahead = ENTRY_LIMITS["days_ahead"].value
    if effective_date is None:
        errors["effective_date"] = "Enter the date this dose takes effect."
    elif effective_date > today + timedelta(days=int(days_ahead)):
        errors["effective_date"] = (
            f"This date is more than {days_ahead} days ahead; "
            f"record a change no more than {days_ahead} days before it takes effect."
        )
    return errors


def _unit_error(route: str | None, unit: str | None) -> str | None:
    if unit and "ml" in unit.lower():
        expected = scales.ROUTE_UNITS.get(route or "", "mg/day or mcg/day")
        return (
            f"Record the daily dose in {expected}, not in mL: baclofen liquids come in "
            "different strengths (Ozobax 1 mg/mL, Fleqsuvy 5 mg/mL), so a volume does not "
            "say how much drug was given."
        )
    if route not in scales.ROUTE_UNITS:
        return None if unit in scales.ROUTE_UNITS.values() else "Choose mg/day or mcg/day."
    expected = scales.ROUTE_UNITS[route]
    if unit != expected:
        return f"{scales.ROUTES[route]} baclofen is recorded in {expected}."
    return None


def _dose_error(route: str | None, daily_dose: Decimal | None, stopping: bool) -> str | None:
    if daily_dose is None:
        return "Enter the total daily dose."
    if not daily_dose.is_finite():
        return "Enter the total daily dose as a number."
    if stopping:
        return None if daily_dose == 0 else "A stop is recorded as a daily dose of 0."
    if daily_dose <= 0:
        return "Enter a daily dose above 0; to stop the drug, record a stop instead."
    limit = ENTRY_LIMITS.get(route or "")
    if limit is not None and daily_dose > limit.value:
        return (
            f"{daily_dose} {limit.unit} is above {limit.value} {limit.unit}, which is not a "
            f"plausible {route} daily dose; check the number and the unit."
        )
    return None


def format_dose(dose: Decimal) -> str:
    """Show a dose without trailing zeros: Decimal("20.0") -> "20".

    Only for display; all arithmetic keeps the Decimal.
    """
    return f"{dose.normalize():f}"


def day_doses(changes: Iterable[DoseChange], route: str) -> list[DoseChange]:
    """Return one valid change per day for a route (the day's last entry), oldest first.

    Entries superseded later the same day never reached the patient, so rules judge only
    the dose each day ended with.
    """
    by_day: dict[date, DoseChange] = {}
    ordered = sorted(
        (c for c in changes if c.is_valid and c.route == route),
        key=lambda c: (c.effective_date, c.sequence),
    )
    for change in ordered:
        by_day[change.effective_date] = change
    return list(by_day.values())


def increases(changes: Sequence[DoseChange]) -> list[tuple[DoseChange, DoseChange]]:
    """Return (before, after) for each day a route's dose rose above the previous day's dose.

    The first recorded dose of a route is not an increase: what came before it is unknown.
    """
    rises = []
    for route in scales.ROUTES:
        days_of_dose = day_doses(changes, route)
        rises += [
            (before, after)
            for before, after in pairwise(days_of_dose)
            if after.daily_dose > before.daily_dose
        ]
    return sorted(rises, key=lambda pair: (pair[1].effective_date, pair[1].sequence))


def regimens_on(changes: Sequence[DoseChange], days: Sequence[date]) -> list[dict[str, DoseChange]]:
    """`regimen_on` for many dates at once: one sort and a binary search per date and route.

    Same answer as calling `regimen_on` per date (the latest valid change on or before it,
    same day: highest sequence, then entry order), without rescanning every change per visit.
    """
    per_route = {}
    for route in scales.ROUTES:
        ordered = sorted(
            (
                (c.effective_date, c.sequence, position, c)
                for position, c in enumerate(changes)
                if c.is_valid and c.route == route
            ),
            key=lambda item: item[:3],
        )
        per_route[route] = ([item[0] for item in ordered], [item[3] for item in ordered])
    result = []
    for day in days:
        regimen = {}
        for route, (dates, in_order) in per_route.items():
            index = bisect_right(dates, day)
            if index:
                regimen[route] = in_order[index - 1]
        result.append(regimen)
    return result


def regimen_on(changes: Sequence[DoseChange], on: date) -> dict[str, DoseChange]:
    """Return the valid change in force on a date for each route, in `scales.ROUTES` order.

    Rows with a missing route or a unit that does not match it are left out, so oral mg/day and
    intrathecal mcg/day never share a series. A stopped route is present with daily dose 0.
    """
    valid = [change for change in changes if change.is_valid]
    in_force = {route: dose_in_force(valid, on, route) for route in scales.ROUTES}
    return {route: change for route, change in in_force.items() if change is not None}
