"""The dose in force: the one definition every page, the PDF and the verdict use.

A patient may take oral and intrathecal baclofen together (a legitimate combination, shown as
such: "60 mg/day oral + 200 mcg/day intrathecal"); each route keeps its own latest change.
A route switch is recorded by stopping the old route (dose 0), so a stopped route is known and
is said as stopped, never summed with the other. Pure: no app, no database.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from spastic.clinical import scales
from spastic.clinical.dosing import DoseChange, format_dose, regimen_on


@dataclass(frozen=True)
class Regimen:
    """The valid change in force per route on a date (a stopped route has daily dose 0)."""

    on: date
    doses: Mapping[str, DoseChange]  # route -> change, in `scales.ROUTES` order

    @property
    def active(self) -> dict[str, DoseChange]:
        """The routes given at a dose above 0."""
        return {route: c for route, c in self.doses.items() if c.daily_dose > 0}

    @property
    def stopped(self) -> dict[str, DoseChange]:
        """The routes whose latest change is a stop (dose 0)."""
        return {route: c for route, c in self.doses.items() if c.daily_dose == 0}

    @property
    def last_change(self) -> DoseChange | None:
        """The most recent change of any route in force (same day: the later entry)."""
        if not self.doses:
            return None
        return max(self.doses.values(), key=lambda c: (c.effective_date, c.sequence))

    @property
    def label(self) -> str:
        """The regimen in words, e.g. "60 mg/day oral + 200 mcg/day intrathecal"."""
        return describe_regimen(self.doses)


def regimen_in_force(changes: Sequence[DoseChange], on: date) -> Regimen:
    """Return the regimen in force on a date: each route's latest valid change on or before it.

    The one definition of "the dose in force": the visit page, the patient page, the trend page,
    the PDF and the verdict all call this (or `dosing.regimens_on`, its many-dates form).
    """
    return Regimen(on, MappingProxyType(regimen_on(changes, on)))


def route_dose(change: DoseChange) -> str:
    """One route's dose in words: "60 mg/day oral"."""
    route = change.route or ""
    return (
        f"{format_dose(change.daily_dose)} {scales.ROUTE_UNITS[route]} "
        f"{scales.ROUTES[route].lower()}"
    )


def describe_regimen(doses: Mapping[str, DoseChange]) -> str:
    """Say a regimen: active routes joined by " + " (never summed), then the stopped routes.

    "60 mg/day oral + 200 mcg/day intrathecal"; "200 mcg/day intrathecal; oral stopped on
    3 Mar 2026"; "baclofen stopped: oral on 3 Mar 2026"; "no baclofen recorded".
    """
    if not doses:
        return "no baclofen recorded"
    active = [route_dose(c) for c in doses.values() if c.daily_dose > 0]
    stops = [
        f"{scales.ROUTES[route].lower()} {'' if active else 'on '}"
        f"{'stopped on ' if active else ''}{c.effective_date:%-d %b %Y}"
        for route, c in doses.items()
        if c.daily_dose == 0
    ]
    if not active:
        return "baclofen stopped: " + ", ".join(stops)
    return "; ".join([" + ".join(active), *stops])
