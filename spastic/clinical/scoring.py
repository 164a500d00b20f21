"""A patient's trend: visits, changes, dose against tone, responders and flags in one result.

`compute_trend` is the one computation behind the trend page and the PDF. Pure: no Flask, no
SQL. Numbers in the result are unrounded (floats for MAS and pain, Decimals for doses); round
only for display, with `format_index`, `format_change`, `format_percent` or `dosing.format_dose`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from spastic.clinical import scales
from spastic.clinical.comparison import Comparison, VisitSummary, compare, step_status, summarise
from spastic.clinical.dosing import DoseChange, Flag, day_doses, regimens_on
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.responders import (
    DoseResponse,
    MuscleResponder,
    dose_response,
    responder_summary,
)
from spastic.clinical.safety import safety_flags

__all__ = [
    "GridCell",
    "GridRow",
    "PatientContext",
    "Trend",
    "VisitRecord",
    "VisitTrend",
    "compute_trend",
    "format_change",
    "format_index",
    "format_percent",
]


@dataclass(frozen=True)
class VisitTrend:
    """One visit in the trend: its summary, the regimen then, and its changes."""

    summary: VisitSummary
    doses: Mapping[str, DoseChange]  # route -> change in force on the visit date
    dose_change_since_previous: Mapping[str, Decimal | None]  # route -> change; None: unknown
    vs_baseline: Comparison | None  # None for the baseline (first) visit
    vs_previous: Comparison | None  # None for the baseline (first) visit


@dataclass(frozen=True)
class GridCell:
    """A grade in the muscle-side by visit grid, with its change since the previous visit."""

    grade: str
    index: int
    steps_from_previous: int | None  # None when the previous visit did not assess this side
    status: str | None  # "improved" | "unchanged" | "worsened" | None (nothing to compare)


@dataclass(frozen=True)
class GridRow:
    """A muscle-side across the visits; a None cell means not assessed at that visit."""

    muscle: scales.Muscle
    side: str
    cells: tuple[GridCell | None, ...]  # one per visit, in `Trend.visits` order


@dataclass(frozen=True)
class Trend:
    """Everything the trend page and the PDF show for one patient."""

    visits: tuple[VisitTrend, ...]  # ordered by (date, visit id); the first is baseline
    grid: tuple[GridRow, ...]  # muscle-sides assessed at least once, in MUSCLES order
    dose_history: Mapping[str, tuple[DoseChange, ...]]  # route -> valid changes, day's last entry
    dose_response: Mapping[str, DoseResponse]  # routes in force at one or more visits
    responders: tuple[MuscleResponder, ...]  # in MUSCLES order, left before right
    flags: tuple[Flag, ...]  # newest first

    @property
    def baseline(self) -> VisitTrend | None:
        """The first visit, against which changes are measured."""
        return self.visits[0] if self.visits else None

    @property
    def latest(self) -> VisitTrend | None:
        """The most recent visit."""
        return self.visits[-1] if self.visits else None


def _dose_changes(
    doses: Mapping[str, DoseChange], previous: Mapping[str, DoseChange] | None
) -> dict[str, Decimal | None]:
    known = previous or {}
    return {
        route: change.daily_dose - known[route].daily_dose if route in known else None
        for route, change in doses.items()
    }


def _visit_trends(
    summaries: Sequence[VisitSummary], regimens: Sequence[Mapping[str, DoseChange]]
) -> tuple[VisitTrend, ...]:
    trends = []
    for index, (summary, regimen) in enumerate(zip(summaries, regimens, strict=True)):
        since_baseline = compare(summaries[0], summary) if index else None
        # The second visit's previous visit is the baseline: one comparison serves both.
        since_previous = (
            since_baseline
            if index == 1
            else compare(summaries[index - 1], summary)
            if index
            else None
        )
        trends.append(
            VisitTrend(
                summary,
                regimen,
                MappingProxyType(_dose_changes(regimen, regimens[index - 1] if index else None)),
                since_baseline,
                since_previous,
            )
        )
    return tuple(trends)


def _first_cell(grade: str) -> GridCell:
    return GridCell(grade, scales.MAS_INDEX[grade], None, None)


def _next_cell(grade: str, before: str) -> GridCell:
    steps = scales.MAS_INDEX[grade] - scales.MAS_INDEX[before]
    return GridCell(grade, scales.MAS_INDEX[grade], steps, step_status(steps))


# A cell depends only on its grade and the previous visit's: each is built once and shared.
_CELLS: dict[tuple[str, str | None], GridCell] = {
    (grade, before): _next_cell(grade, before) if before else _first_cell(grade)
    for grade in scales.MAS_GRADES
    for before in (None, *scales.MAS_GRADES)
}


def build_grid(summaries: Sequence[VisitSummary]) -> tuple[GridRow, ...]:
    """Lay out each muscle-side ever assessed as a row of grades by visit."""
    assessed = set().union(*(s.by_side for s in summaries))
    rows = []
    for muscle in scales.MUSCLES:
        for side in scales.SIDES:
            if (muscle.code, side) not in assessed:
                continue
            cells, before = [], None
            for summary in summaries:
                entry = summary.by_side.get((muscle.code, side))
                grade = None if entry is None else entry.grade
                cells.append(None if grade is None else _CELLS[grade, before])
                before = grade
            rows.append(GridRow(muscle, side, tuple(cells)))
    return tuple(rows)


def compute_trend(
    visits: Sequence[VisitRecord], dose_changes: Sequence[DoseChange], patient: PatientContext
) -> Trend:
    """Compute a patient's whole trend from the visits, the dose history and the context.

    Visits are ordered by (date, visit id); several on one day are allowed. The dose in force
    at a visit is the latest valid change on or before its date, per route.
    """
    ordered = sorted(visits, key=lambda v: (v.visit_date, v.visit_id))
    summaries = [summarise(v) for v in ordered]
    regimens = [
        MappingProxyType(r) for r in regimens_on(dose_changes, [v.visit_date for v in ordered])
    ]
    dosed = list(zip(summaries, regimens, strict=True))
    routes = [r for r in scales.ROUTES if any(r in regimen for regimen in regimens)]
    return Trend(
        visits=_visit_trends(summaries, regimens),
        grid=build_grid(summaries),
        dose_history=MappingProxyType(
            {r: history for r in scales.ROUTES if (history := tuple(day_doses(dose_changes, r)))}
        ),
        dose_response=MappingProxyType({r: dose_response(r, dosed) for r in routes}),
        responders=responder_summary(dosed),
        flags=tuple(safety_flags(dose_changes, patient, ordered)),
    )


def format_index(value: float | None) -> str:
    """Show a mean or median index with two decimals; "-" when there is none."""
    return "-" if value is None else f"{value:.2f}"


def format_change(value: float | None) -> str:
    """Show a signed change with two decimals ("+0.50", "-0.50", "0.00")."""
    if value is None:
        return "-"
    return "0.00" if round(value, 2) == 0 else f"{value:+.2f}"


def format_percent(value: float | None) -> str:
    """Show a signed percentage, whole numbers ("-30%")."""
    if value is None:
        return "-"
    return "0%" if round(value) == 0 else f"{value:+.0f}%"
