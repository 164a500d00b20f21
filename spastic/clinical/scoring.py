"""A patient's trend: visits, changes, dose against tone, responders and flags in one result.

`compute_trend` is the one computation behind the trend page and the PDF. Pure: no Flask, no
SQL. Numbers in the result are unrounded (floats for MAS and pain, Decimals for doses); round
only for display, with `format_index`, `format_change`, `format_percent` or `dosing.format_dose`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
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
    grade_columns,
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


_NONE = (None, None)  # no comparisons: the baseline visit's


class VisitTrend:
    """One visit in the trend: its summary, the regimen then, and its changes.

    Immutable, and equal to another when all five parts are equal, like a frozen dataclass.
    `compute_trend` defers the two comparisons (`deferred`): they are computed the first time
    they are read and kept, since the pages read them for the latest visit only (issue 16).
    """

    __slots__ = ("_compared", "_pending", "dose_change_since_previous", "doses", "summary")
    summary: VisitSummary
    doses: Mapping[str, DoseChange]  # route -> change in force on the visit date
    dose_change_since_previous: Mapping[str, Decimal | None]  # route -> change; None: unknown

    def __init__(
        self,
        summary: VisitSummary,
        doses: Mapping[str, DoseChange],
        dose_change_since_previous: Mapping[str, Decimal | None],
        vs_baseline: Comparison | None,
        vs_previous: Comparison | None,
    ) -> None:
        for name, value in (
            ("summary", summary),
            ("doses", doses),
            ("dose_change_since_previous", dose_change_since_previous),
            (
                "_compared",
                _NONE if vs_baseline is vs_previous is None else (vs_baseline, vs_previous),
            ),
            ("_pending", None),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def deferred(
        cls,
        summary: VisitSummary,
        doses: Mapping[str, DoseChange],
        dose_change_since_previous: Mapping[str, Decimal | None],
        baseline: VisitSummary | None,
        previous: VisitSummary | None,
    ) -> "VisitTrend":
        """A visit whose comparisons with `baseline` and `previous` are computed when read."""
        trend = cls(summary, doses, dose_change_since_previous, None, None)
        if baseline is not None or previous is not None:
            object.__setattr__(trend, "_pending", (baseline, previous))
        return trend

    def _comparisons(self) -> tuple[Comparison | None, Comparison | None]:
        if self._pending is not None:
            baseline, previous = self._pending
            vs_baseline = compare(baseline, self.summary) if baseline else None
            # The second visit's previous visit is the baseline: one comparison serves both.
            same = previous is baseline
            vs_previous = (
                vs_baseline if same else compare(previous, self.summary) if previous else None
            )
            object.__setattr__(self, "_compared", (vs_baseline, vs_previous))
            object.__setattr__(self, "_pending", None)
        return self._compared

    @property
    def vs_baseline(self) -> Comparison | None:
        """Against the baseline (first) visit; None for the baseline itself."""
        return self._comparisons()[0]

    @property
    def vs_previous(self) -> Comparison | None:
        """Against the previous visit; None for the baseline (first) visit."""
        return self._comparisons()[1]

    def _parts(self) -> tuple:
        return (self.summary, self.doses, self.dose_change_since_previous, *self._comparisons())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._parts() == other._parts()

    __hash__ = None  # type: ignore[assignment]  # its mappings are unhashable, as a dataclass's

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(
                ("summary", "doses", "dose_change_since_previous", "vs_baseline", "vs_previous"),
                self._parts(),
                strict=True,
            )
        )
        return f"VisitTrend({parts})"


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
    # Visits on one regimen share its mapping (`_read_only`), so their dose changes are the
    # same too: one mapping per pair of regimens, by identity (all alive in `regimens`).
    changes: dict[tuple[int, int], Mapping[str, Decimal | None]] = {}
    previous = None
    for index, (summary, regimen) in enumerate(zip(summaries, regimens, strict=True)):
        key = (id(previous), id(regimen))
        if key not in changes:
            changes[key] = MappingProxyType(_dose_changes(regimen, previous))
        trends.append(
            VisitTrend.deferred(
                summary,
                regimen,
                changes[key],
                summaries[0] if index else None,
                summaries[index - 1] if index else None,
            )
        )
        previous = regimen
    return tuple(trends)


def _read_only(regimens: Sequence[Mapping[str, DoseChange]]) -> list[Mapping[str, DoseChange]]:
    """Each regimen behind a read-only view; a visit on the same changes as the visit before
    shares that visit's view (a history of 1000 visits has a few dozen regimens)."""
    views: list[Mapping[str, DoseChange]] = []
    last: Mapping[str, DoseChange] = {}
    for regimen in regimens:
        same = (
            views
            and regimen.keys() == last.keys()
            and all(change is last[route] for route, change in regimen.items())
        )
        views.append(views[-1] if same else MappingProxyType(regimen))
        last = regimen
    return views


def _first_cell(grade: str) -> GridCell:
    return GridCell(grade, scales.MAS_INDEX[grade], None, None)


def _next_cell(grade: str, before: str) -> GridCell:
    steps = scales.MAS_INDEX[grade] - scales.MAS_INDEX[before]
    return GridCell(grade, scales.MAS_INDEX[grade], steps, step_status(steps))


# A cell depends only on its grade and the previous visit's: each is built once and shared.
_CELLS: dict[tuple[str | None, str | None], GridCell] = {
    (grade, before): _next_cell(grade, before) if before else _first_cell(grade)
    for grade in scales.MAS_GRADES
    for before in (None, *scales.MAS_GRADES)
}


def build_grid(
    summaries: Sequence[VisitSummary],
    columns: Mapping[tuple[str, str], Sequence[str | None]] | None = None,
) -> tuple[GridRow, ...]:
    """Lay out each muscle-side ever assessed as a row of grades by visit.

    `columns` are the summaries' `grade_columns`, when already at hand.
    """
    if columns is None:
        columns = grade_columns(summaries)
    rows = []
    for (code, side), row in columns.items():
        # A cell is None where not assessed (no such key in _CELLS).
        cells = tuple(map(_CELLS.get, zip(row, [None, *row], strict=False)))
        rows.append(GridRow(scales.MUSCLE_BY_CODE[code], side, cells))
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
    regimens = _read_only(regimens_on(dose_changes, [v.visit_date for v in ordered]))
    dosed = list(zip(summaries, regimens, strict=True))
    routes = [r for r in scales.ROUTES if any(r in regimen for regimen in regimens)]
    columns = grade_columns(summaries)
    return Trend(
        visits=_visit_trends(summaries, regimens),
        grid=build_grid(summaries, columns),
        dose_history=MappingProxyType(
            {r: history for r in scales.ROUTES if (history := tuple(day_doses(dose_changes, r)))}
        ),
        dose_response=MappingProxyType({r: dose_response(r, dosed) for r in routes}),
        responders=responder_summary(dosed, columns),
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
