"""Tone against dose: dose levels, rank correlation, response to increases, responders per muscle.

Pure. Each route is its own series (oral mg/day, intrathecal mcg/day are never mixed).
Numbers are unrounded floats and Decimals; round only for display.
"""

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from types import MappingProxyType

from spastic.clinical import scales
from spastic.clinical.comparison import (
    CompositeChange,
    VisitSummary,
    compare,
    step_status,
)
from spastic.clinical.dosing import DoseChange, Threshold
from spastic.clinical.records import MuscleSide
from spastic.clinical.visit_summary import SIDE_RANK

# A visit's summary with the regimen in force on its date (route -> valid change).
Dosed = tuple[VisitSummary, Mapping[str, DoseChange]]

THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("correlation_min_visits", Decimal(4), "visits", "issue #4 section 3", None),
    Threshold("no_response_increases", Decimal(2), "increases", "issue #4 section 3", None),
)
MIN_CORRELATION_VISITS = int(THRESHOLDS[0].value)
NO_RESPONSE_INCREASES = int(THRESHOLDS[1].value)


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


@dataclass(frozen=True)
class DoseLevel:
    """The visits at one daily dose of one route, with their median composite and pain."""

    daily_dose: Decimal
    visit_ids: tuple[int, ...]
    median_composite: float | None  # median of the visits' mean index over all assessed sides
    median_pain_now: float | None
    median_pain_worst: float | None


def dose_levels(route: str, dosed: Sequence[Dosed]) -> tuple[DoseLevel, ...]:
    """Group the visits by the route's daily dose in force, lowest dose first."""
    by_dose: dict[Decimal, list[VisitSummary]] = {}
    for summary, regimen in dosed:
        if route in regimen:
            by_dose.setdefault(regimen[route].daily_dose, []).append(summary)
    return tuple(
        DoseLevel(
            dose,
            tuple(s.visit_id for s in visits),
            _median([m for s in visits if (m := s.composites["all"].mean_index) is not None]),
            _median([s.record.pain_now for s in visits if s.record.pain_now is not None]),
            _median([s.record.pain_worst for s in visits if s.record.pain_worst is not None]),
        )
        for dose, visits in sorted(by_dose.items())
    )


def average_ranks(values: Sequence[float]) -> list[float]:
    """Rank values from 1; tied values share the average of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in order[start : end + 1]:
            ranks[position] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks; None when either side is constant."""
    rank_x, rank_y = average_ranks(xs), average_ranks(ys)
    if len(set(rank_x)) < 2 or len(set(rank_y)) < 2:
        return None
    return max(-1.0, min(1.0, statistics.correlation(rank_x, rank_y)))


@dataclass(frozen=True)
class DoseCorrelation:
    """Spearman rank correlation between a route's daily dose and the visit composite."""

    n: int  # visits with both a dose in force and at least one grade
    rho: float | None
    status: str  # "ok" | "not_enough_visits" | "no_dose_variation" | "no_composite_variation"
    same_muscles: bool  # every one of the n visits assessed the same muscle-sides

    @property
    def message(self) -> str:
        """A sentence for the page: rho with n, or why there is none."""
        if self.status == "ok":
            return f"Spearman rho {self.rho:.2f} (n = {self.n} visits)"
        if self.status == "not_enough_visits":
            return (
                f"Not enough visits: {self.n} with a dose and grades, "
                f"at least {MIN_CORRELATION_VISITS} needed"
            )
        if self.status == "no_dose_variation":
            return f"The dose was the same at all {self.n} visits"
        return f"The composite was the same at all {self.n} visits"


def dose_correlation(route: str, dosed: Sequence[Dosed]) -> DoseCorrelation:
    """Correlate dose and mean-index composite (all sides) over visits with both.

    "Not enough visits" below 4 (issue #4 section 3); ties get average ranks.
    """
    pairs = [
        (regimen[route].daily_dose, summary)
        for summary, regimen in dosed
        if route in regimen and summary.composites["all"].count
    ]
    n = len(pairs)
    sides = pairs[0][1].record.grades.keys() if pairs else None
    same = all(s.record.grades.keys() == sides for _, s in pairs)  # compared as sets
    if n < MIN_CORRELATION_VISITS:
        return DoseCorrelation(n, None, "not_enough_visits", same)
    doses = [float(dose) for dose, _ in pairs]
    means = [s.composites["all"].mean_index or 0.0 for _, s in pairs]
    if len(set(doses)) < 2:
        return DoseCorrelation(n, None, "no_dose_variation", same)
    if len(set(means)) < 2:
        return DoseCorrelation(n, None, "no_composite_variation", same)
    return DoseCorrelation(n, spearman(doses, means), "ok", same)


@dataclass(frozen=True)
class IncreaseResponse:
    """A dose rise between visits: the last visit at the old dose against the last at the new."""

    from_dose: Decimal
    to_dose: Decimal
    before_visit_id: int
    after_visit_id: int
    limbs: Mapping[str, CompositeChange]  # "upper" / "lower" over Chen 2019's set, both visits
    responded: bool | None  # improvement reaching a limb's 0.5 SD MCID; None if not comparable
    before_date: date | None = None
    after_date: date | None = None
    same_rater: bool = True


def _runs(route: str, dosed: Sequence[Dosed]) -> list[list[tuple[VisitSummary, Decimal]]]:
    runs: list[list[tuple[VisitSummary, Decimal]]] = []
    for summary, regimen in dosed:
        if route not in regimen:
            continue
        dose = regimen[route].daily_dose
        if runs and runs[-1][-1][1] == dose:
            runs[-1].append((summary, dose))
        else:
            runs.append([(summary, dose)])
    return runs


def increase_responses(route: str, dosed: Sequence[Dosed]) -> tuple[IncreaseResponse, ...]:
    """Judge each dose rise between visits by the composite change per limb against its MCID.

    Response = an improvement reaching the limb's 0.5 SD MCID (Chen 2019, Eur J Phys Rehabil
    Med 55:754: upper 0.48, lower 0.45) in at least one limb, judged only on the composite of
    Chen 2019's muscle set (CLINICAL.md); without that set at both visits: not comparable.
    """
    responses = []
    for old, new in pairwise(_runs(route, dosed)):
        (before, from_dose), (after, to_dose) = old[-1], new[-1]
        if to_dose <= from_dose:
            continue
        comparison = compare(before, after)
        limbs = dict(comparison.chen)
        responded = any(c.reaches_mcid for c in limbs.values()) if limbs else None
        responses.append(
            IncreaseResponse(
                from_dose,
                to_dose,
                before.visit_id,
                after.visit_id,
                MappingProxyType(limbs),
                responded,
                before.visit_date,
                after.visit_date,
                comparison.same_rater,
            )
        )
    return tuple(responses)


def trailing_non_responses(responses: Sequence[IncreaseResponse]) -> int:
    """Count the most recent increases in a row that brought no improvement reaching the MCID."""
    count = 0
    for response in reversed(responses):
        if response.responded is not False:
            break
        count += 1
    return count


@dataclass(frozen=True)
class DoseResponse:
    """Everything about one route's dose against tone."""

    route: str
    unit: str
    levels: tuple[DoseLevel, ...]
    correlation: DoseCorrelation
    increases: tuple[IncreaseResponse, ...]
    no_further_response: bool  # the last 2+ increases brought no improvement reaching the MCID
    non_responding_increases: int  # how many of the latest increases in a row


def dose_response(route: str, dosed: Sequence[Dosed]) -> DoseResponse:
    """Assemble the route's dose levels, correlation and response to increases.

    "No further response" when the last two or more increases each brought no composite
    improvement reaching the MCID (issue #4 section 3; Chen 2019 MCID).
    """
    increases = increase_responses(route, dosed)
    trailing = trailing_non_responses(increases)
    return DoseResponse(
        route,
        scales.ROUTE_UNITS[route],
        dose_levels(route, dosed),
        dose_correlation(route, dosed),
        increases,
        trailing >= NO_RESPONSE_INCREASES,
        trailing,
    )


@dataclass(frozen=True)
class MuscleResponder:
    """One muscle-side since its first assessment: improved, unchanged or worsened, and when."""

    muscle: scales.Muscle
    side: str
    baseline_grade: str
    baseline_visit_id: int
    baseline_date: date
    latest_grade: str
    latest_visit_id: int
    latest_date: date
    steps: int  # latest index - baseline index; negative = less tone
    status: str  # "improved" | "unchanged" | "worsened" | "not_compared" (assessed once)
    first_improved_visit_id: int | None
    first_improved_date: date | None
    first_improved_doses: Mapping[str, DoseChange]  # regimen in force then, by route


def grade_columns(summaries: Sequence[VisitSummary]) -> dict[MuscleSide, list[str | None]]:
    """Each muscle-side ever assessed, in MUSCLES order, left before right, with its grade at
    each visit in `summaries` order (None: not assessed then)."""
    columns: dict[MuscleSide, list[str | None]] = {}
    for position, summary in enumerate(summaries):  # one pass over every grade
        for key, grade in summary.record.grades.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = [None] * len(summaries)
            column[position] = grade
    return {key: columns[key] for key in SIDE_RANK if key in columns}


def _responder(
    key: MuscleSide, dosed: Sequence[Dosed], grades: Sequence[str | None]
) -> MuscleResponder | None:
    # grades: the side's grade at each visit of `dosed`, None where not assessed
    if None in grades:
        assessed = [position for position, grade in enumerate(grades) if grade is not None]
    else:
        assessed = range(len(grades))
    if not assessed:
        return None
    first, last = assessed[0], assessed[-1]
    base, latest = scales.MAS_INDEX[grades[first]], scales.MAS_INDEX[grades[last]]
    better = {g for g, index in scales.MAS_INDEX.items() if step_status(index - base) == "improved"}
    at = next((p for p in range(first + 1, len(grades)) if grades[p] in better), None)
    improved = dosed[at] if at is not None else None
    (first_visit, _), (last_visit, _) = dosed[first], dosed[last]
    return MuscleResponder(
        scales.MUSCLE_BY_CODE[key[0]],
        key[1],
        grades[first],
        first_visit.visit_id,
        first_visit.visit_date,
        grades[last],
        last_visit.visit_id,
        last_visit.visit_date,
        latest - base,
        step_status(latest - base) if len(assessed) > 1 else "not_compared",
        improved[0].visit_id if improved else None,
        improved[0].visit_date if improved else None,
        MappingProxyType(dict(improved[1] if improved else {})),
    )


def responder_summary(
    dosed: Sequence[Dosed], columns: Mapping[MuscleSide, Sequence[str | None]] | None = None
) -> tuple[MuscleResponder, ...]:
    """Judge every muscle-side ever assessed against its own first assessment.

    Responder = a reduction of >= 1 grade step (trial convention, NCT00432666); the row says at
    which visit, and on which regimen, the side first reached it. `columns` are the visits'
    `grade_columns`, when already at hand.
    """
    if columns is None:
        columns = grade_columns([summary for summary, _ in dosed])
    found = (_responder(key, dosed, grades) for key, grades in columns.items())
    return tuple(responder for responder in found if responder is not None)
