"""One visit summarised and two compared, the straightforward way (before issue 16).

A copy of `comparison.summarise`, `compare`, `composite_change`, `chen_pairs`, `step_status`
and `VisitSummary.grade_at` as they stood before the fast path, building the same result
dataclasses; the reference for `test_fast_trend.py` (see `reference_trend`). Do not speed it up.
"""

import math
import statistics
from types import MappingProxyType

from spastic.clinical import scales
from spastic.clinical.comparison import (
    CHEN_MUSCLES,
    MCID,
    SCOPES,
    Comparison,
    Composite,
    CompositeChange,
    GradeChange,
    GradeEntry,
    VisitSummary,
    median_grade_label,
)
from spastic.clinical.pain import judge_pain
from spastic.clinical.records import same_rater


def _in_scope(muscle, scope):
    return scope == "all" or muscle.limb == scope


def _sort_key(key):
    return scales.MUSCLES.index(scales.MUSCLE_BY_CODE[key[0]]), scales.SIDES.index(key[1])


def composite(indices, scope):
    if not indices:
        return Composite(scope, 0, None, None, None)
    median = float(statistics.median(indices))
    return Composite(
        scope, len(indices), math.fsum(indices) / len(indices), median, median_grade_label(median)
    )


def grade_at(summary, muscle_code, side):
    return next(
        (g for g in summary.grades if g.muscle.code == muscle_code and g.side == side), None
    )


def summarise(visit):
    keys = sorted(visit.grades, key=_sort_key)
    grades = tuple(
        GradeEntry(
            scales.MUSCLE_BY_CODE[code],
            side,
            visit.grades[code, side],
            scales.mas_index(visit.grades[code, side]),
        )
        for code, side in keys
    )
    composites = {
        scope: composite([g.index for g in grades if _in_scope(g.muscle, scope)], scope)
        for scope in SCOPES
    }
    at_1plus = sum(1 for g in grades if g.index >= scales.MAS_INDEX["1+"])
    return VisitSummary(
        visit.visit_id,
        visit.visit_date,
        visit.rater,
        grades,
        MappingProxyType(composites),
        at_1plus,
        visit,
    )


def step_status(steps):
    if steps <= -1:
        return "improved"
    if steps >= 1:
        return "worsened"
    return "unchanged"


def judge_mcid(scope, change):
    if scope not in MCID:
        return None
    half_sd, eight_tenths_sd = MCID[scope]
    size = abs(change)
    if size >= eight_tenths_sd:
        return "08_sd"
    if size >= half_sd:
        return "half_sd"
    return "below"


def composite_change(scope, pairs, judged=True):
    if not pairs:
        return None
    count = len(pairs)
    before = math.fsum(b.index for b, _ in pairs) / count
    after = math.fsum(a.index for _, a in pairs) / count
    change = math.fsum(a.index - b.index for b, a in pairs) / count
    direction = "improved" if change < 0 else "worsened" if change > 0 else "unchanged"
    mcid = judge_mcid(scope, change) if judged else None
    return CompositeChange(scope, count, before, after, change, direction, mcid)


def chen_pairs(limb, pairs):
    chosen = [(b, a) for b, a in pairs if b.muscle.code in CHEN_MUSCLES[limb]]
    present = {b.muscle.code for b, _ in chosen}
    return chosen if present == set(CHEN_MUSCLES[limb]) else []


def _pain(measure, before, after):
    return None if before is None or after is None else judge_pain(measure, before, after)


def compare(reference, visit):
    before = {(g.muscle.code, g.side): g for g in reference.grades}
    pairs = [
        (before[g.muscle.code, g.side], g)
        for g in visit.grades
        if (g.muscle.code, g.side) in before
    ]
    changes = tuple(
        GradeChange(
            b.muscle, b.side, b.grade, a.grade, a.index - b.index, step_status(a.index - b.index)
        )
        for b, a in pairs
    )
    composites = {}
    for scope in SCOPES:
        in_scope = [(b, a) for b, a in pairs if _in_scope(b.muscle, scope)]
        if in_scope:
            composites[scope] = composite_change(scope, in_scope, judged=False)
    chen = {
        limb: composite_change(limb, chosen)
        for limb in CHEN_MUSCLES
        if (chosen := chen_pairs(limb, pairs))
    }
    old, new = reference.record, visit.record
    return Comparison(
        reference.visit_id,
        reference.visit_date,
        len(pairs),
        changes,
        MappingProxyType(composites),
        MappingProxyType(chen),
        _pain("now", old.pain_now, new.pain_now),
        _pain("worst", old.pain_worst, new.pain_worst),
        same_rater(reference.rater, visit.rater),
    )
