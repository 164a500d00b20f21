"""The trend computed the straightforward way: today's code before it was made fast.

A copy of `scoring.compute_trend`, the `responders` code and `safety.side_effect_flags` it
called as they stood before issue 16 (the comparison of two visits is in
`reference_comparison`), building the same result dataclasses. It rescans freely (each
visit's grades, every pair anew, every dose rise for each visit), so it is obviously right
and slow; `test_fast_trend.py` checks that the fast path gives equal `Trend` results. Do not
speed it up.
"""

import statistics
from itertools import pairwise
from types import MappingProxyType

from spastic.clinical import scales
from spastic.clinical.dosing import day_doses, increases, regimens_on
from spastic.clinical.dosing import format_dose as _fmt
from spastic.clinical.flagging import visit_flag
from spastic.clinical.responders import (
    MIN_CORRELATION_VISITS,
    NO_RESPONSE_INCREASES,
    DoseCorrelation,
    DoseLevel,
    DoseResponse,
    IncreaseResponse,
    MuscleResponder,
    spearman,
    trailing_non_responses,
)
from spastic.clinical.safety import (
    intrathecal_step_flags,
    legacy_row_flags,
    newest_first,
    oral_max_flags,
    oral_titration_flags,
    rater_flags,
    renal_flags,
)
from spastic.clinical.scoring import (
    GridCell,
    GridRow,
    Trend,
    VisitTrend,
)
from spastic.clinical.withdrawal import abrupt_stop_flags, reported_stop_flags
from tests.unit.reference_comparison import compare, grade_at, step_status, summarise


def _median(values):
    return float(statistics.median(values)) if values else None


def dose_levels(route, dosed):
    by_dose = {}
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


def dose_correlation(route, dosed):
    pairs = [
        (regimen[route].daily_dose, summary)
        for summary, regimen in dosed
        if route in regimen and summary.composites["all"].count
    ]
    n = len(pairs)
    muscle_sets = {frozenset((g.muscle.code, g.side) for g in s.grades) for _, s in pairs}
    same = len(muscle_sets) <= 1
    if n < MIN_CORRELATION_VISITS:
        return DoseCorrelation(n, None, "not_enough_visits", same)
    doses = [float(dose) for dose, _ in pairs]
    means = [s.composites["all"].mean_index or 0.0 for _, s in pairs]
    if len(set(doses)) < 2:
        return DoseCorrelation(n, None, "no_dose_variation", same)
    if len(set(means)) < 2:
        return DoseCorrelation(n, None, "no_composite_variation", same)
    return DoseCorrelation(n, spearman(doses, means), "ok", same)


def _runs(route, dosed):
    runs = []
    for summary, regimen in dosed:
        if route not in regimen:
            continue
        dose = regimen[route].daily_dose
        if runs and runs[-1][-1][1] == dose:
            runs[-1].append((summary, dose))
        else:
            runs.append([(summary, dose)])
    return runs


def increase_responses(route, dosed):
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


def dose_response(route, dosed):
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


def _responder(assessments):
    (first, baseline, _), (last, latest, _) = assessments[0], assessments[-1]
    steps = latest.index - baseline.index
    improved = next(
        (a for a in assessments[1:] if step_status(a[1].index - baseline.index) == "improved"),
        None,
    )
    return MuscleResponder(
        baseline.muscle,
        baseline.side,
        baseline.grade,
        first.visit_id,
        first.visit_date,
        latest.grade,
        last.visit_id,
        last.visit_date,
        steps,
        step_status(steps) if len(assessments) > 1 else "not_compared",
        improved[0].visit_id if improved else None,
        improved[0].visit_date if improved else None,
        MappingProxyType(dict(improved[2] if improved else {})),
    )


def responder_summary(dosed):
    history = {(m.code, side): [] for m in scales.MUSCLES for side in scales.SIDES}
    for summary, regimen in dosed:
        for entry in summary.grades:
            history[entry.muscle.code, entry.side].append((summary, entry, regimen))
    return tuple(_responder(assessments) for assessments in history.values() if assessments)


def _dose_changes(doses, previous):
    known = previous or {}
    return {
        route: change.daily_dose - known[route].daily_dose if route in known else None
        for route, change in doses.items()
    }


def _visit_trends(summaries, regimens):
    trends = []
    for index, (summary, regimen) in enumerate(zip(summaries, regimens, strict=True)):
        previous = summaries[index - 1] if index else None
        trends.append(
            VisitTrend(
                summary,
                regimen,
                MappingProxyType(_dose_changes(regimen, regimens[index - 1] if index else None)),
                compare(summaries[0], summary) if index else None,
                compare(previous, summary) if previous else None,
            )
        )
    return tuple(trends)


def _cell(entry, before):
    if entry is None:
        return None
    if before is None:
        return GridCell(entry.grade, entry.index, None, None)
    steps = entry.index - before.index
    return GridCell(entry.grade, entry.index, steps, step_status(steps))


def build_grid(summaries):
    rows = []
    for muscle in scales.MUSCLES:
        for side in scales.SIDES:
            entries = [grade_at(s, muscle.code, side) for s in summaries]
            if any(entries):
                cells = tuple(_cell(e, b) for e, b in zip(entries, [None, *entries], strict=False))
                rows.append(GridRow(muscle, side, cells))
    return tuple(rows)


def side_effect_flags(changes, visits):
    rises = increases(changes)
    flags = []
    for previous, visit in pairwise(visits):
        new = visit.side_effects_present() - previous.side_effects_present()
        linked = [
            (before, after)
            for before, after in rises
            if previous.visit_date < after.effective_date <= visit.visit_date
        ]
        if not new or not linked:
            continue
        before, after = linked[-1]
        names = ", ".join(
            scales.SIDE_EFFECTS[code].lower() for code in scales.SIDE_EFFECTS if code in new
        )
        message = (
            f"New at the visit of {visit.visit_date:%-d %b %Y}: {names}, after the "
            f"{after.route} dose rose from {_fmt(before.daily_dose)} to "
            f"{_fmt(after.daily_dose)} {after.unit} on {after.effective_date:%-d %b %Y}."
        )
        source = "Baclofen tablet label, adverse reactions"
        flags.append(
            visit_flag("side_effect_after_increase", "caution", message, source, visit, after)
        )
    return flags


def safety_flags(changes, patient, visits):
    ordered_visits = sorted(visits, key=lambda v: (v.visit_date, v.visit_id))
    flags = [
        *legacy_row_flags(changes),
        *oral_max_flags(changes),
        *oral_titration_flags(changes),
        *abrupt_stop_flags(changes, patient),
        *reported_stop_flags(changes, ordered_visits, patient),
        *intrathecal_step_flags(changes, patient),
        *renal_flags(changes, patient),
        *side_effect_flags(changes, ordered_visits),
        *rater_flags(ordered_visits),
    ]
    return newest_first(flags)


def compute_trend(visits, dose_changes, patient):
    """The whole trend, computed the straightforward way (see the module docstring)."""
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
