"""One visit summarised, and two visits compared: what changed, and whether it matters.

Pure: works on `records.VisitRecord`; numbers are floats, unrounded (round only for display).
Pain ratings are judged in `pain`.
Every threshold is a `dosing.Threshold` in `THRESHOLDS`, quoting ../shared/CLINICAL.md.
"""

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from spastic.clinical import pain, scales
from spastic.clinical.dosing import Threshold
from spastic.clinical.pain import PainChange, judge_pain
from spastic.clinical.records import MuscleSide, VisitRecord, same_rater

_CHEN = "Chen 2019, Eur J Phys Rehabil Med 55:754"
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("mcid_upper_half_sd", Decimal("0.48"), "index", _CHEN, "upper limb 0.48 / 0.76"),
    Threshold("mcid_upper_08_sd", Decimal("0.76"), "index", _CHEN, "upper limb 0.48 / 0.76"),
    Threshold("mcid_lower_half_sd", Decimal("0.45"), "index", _CHEN, "lower limb 0.45 / 0.73"),
    Threshold("mcid_lower_08_sd", Decimal("0.73"), "index", _CHEN, "lower limb 0.45 / 0.73"),
    Threshold(
        "responder_steps",
        Decimal(1),
        "grade step",
        "trial convention, NCT00432666",
        "reduction of >= 1 grade step",
    ),
    *pain.THRESHOLDS,
)
_T = {threshold.key: threshold.value for threshold in THRESHOLDS}

SCOPES: tuple[str, ...] = ("upper", "lower", "all")
# (0.5 SD, 0.8 SD) composite MCIDs per limb; "all" has none (Chen 2019 reports limbs apart).
MCID: dict[str, tuple[float, float]] = {
    "upper": (float(_T["mcid_upper_half_sd"]), float(_T["mcid_upper_08_sd"])),
    "lower": (float(_T["mcid_lower_half_sd"]), float(_T["mcid_lower_08_sd"])),
}
MCID_LABELS: dict[str, str] = {
    "below": "below MCID",
    "half_sd": "≥ 0.5 SD MCID",
    "08_sd": "≥ 0.8 SD MCID",
}
# Chen 2019's composites are the mean of exactly these muscles (CLINICAL.md, as revised):
# its MCID judges only a composite over this set; any other composite is descriptive.
CHEN_MUSCLES: dict[str, tuple[str, ...]] = {
    "upper": ("elbow_flexors", "wrist_flexors", "finger_flexors"),
    "lower": ("hip_adductors", "knee_flexors", "ankle_plantarflexors"),
}
CHEN_SET_WORDS: dict[str, str] = {
    "upper": "elbow, wrist, finger flexors",
    "lower": "hip adductors, knee flexors, ankle plantarflexors",
}
CHEN_DIAGNOSIS = "stroke"  # Chen 2019: 115 stroke patients; stroke-derived for every other


def _in_scope(muscle: scales.Muscle, scope: str) -> bool:
    return scope == "all" or muscle.limb == scope


def _sort_key(key: MuscleSide) -> tuple[int, int]:
    return scales.MUSCLES.index(scales.MUSCLE_BY_CODE[key[0]]), scales.SIDES.index(key[1])


@dataclass(frozen=True)
class GradeEntry:
    """One muscle-side's MAS grade at a visit, with its 0-5 ordinal index (1+ = 2)."""

    muscle: scales.Muscle
    side: str
    grade: str
    index: int


@dataclass(frozen=True)
class Composite:
    """Mean 0-5 index (a secondary composite) and median grade over a scope's assessed sides.

    MAS is ordinal (NINDS CDE): the median is the primary summary, the mean index is labelled
    secondary. With an even count the median can fall between two grades ("1 to 1+").
    """

    scope: str  # "upper" | "lower" | "all"
    count: int
    mean_index: float | None
    median_index: float | None
    median_grade: str | None


def median_grade_label(median_index: float) -> str:
    """Name the grade at a median index; between two grades, name both ("1 to 1+")."""
    low, high = math.floor(median_index), math.ceil(median_index)
    if low == high:
        return scales.MAS_GRADES[low]
    return f"{scales.MAS_GRADES[low]} to {scales.MAS_GRADES[high]}"


def composite(indices: list[int], scope: str) -> Composite:
    """Summarise the indices of one scope; empty gives count 0 and no numbers."""
    if not indices:
        return Composite(scope, 0, None, None, None)
    median = float(statistics.median(indices))
    return Composite(
        scope, len(indices), math.fsum(indices) / len(indices), median, median_grade_label(median)
    )


@dataclass(frozen=True)
class VisitSummary:
    """Everything one visit recorded, with its composites, ready for the page and the PDF."""

    visit_id: int
    visit_date: date
    rater: str
    grades: tuple[GradeEntry, ...]  # in MUSCLES order, left before right
    composites: Mapping[str, Composite]  # by scope: "upper", "lower", "all"
    count_at_1plus_or_above: int
    record: VisitRecord

    @property
    def pain_now(self) -> int | None:
        """Pain now, 0-10, or None when not rated."""
        return self.record.pain_now

    @property
    def pain_worst(self) -> int | None:
        """Worst pain in the last 24 hours, 0-10, or None when not rated."""
        return self.record.pain_worst

    @property
    def penn(self) -> tuple[int | None, int | None]:
        """Penn spasm (frequency 0-4, severity 1-3); severity only when frequency > 0."""
        return self.record.penn_frequency, self.record.penn_severity

    def grade_at(self, muscle_code: str, side: str) -> GradeEntry | None:
        """Return the grade of a muscle-side, or None when it was not assessed."""
        return next(
            (g for g in self.grades if g.muscle.code == muscle_code and g.side == side), None
        )


def summarise(visit: VisitRecord) -> VisitSummary:
    """Summarise one visit: each grade and index, composites per scope, sides at 1+ or above."""
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


@dataclass(frozen=True)
class GradeChange:
    """A muscle-side assessed at both visits; steps < 0 means less tone."""

    muscle: scales.Muscle
    side: str
    before: str
    after: str
    steps: int
    status: str  # "improved" (>= 1 step down) | "unchanged" | "worsened" (>= 1 step up)


def step_status(steps: int) -> str:
    """Judge a change in grade steps: a reduction of >= 1 step is improved (NCT00432666)."""
    threshold = int(_T["responder_steps"])
    if steps <= -threshold:
        return "improved"
    if steps >= threshold:
        return "worsened"
    return "unchanged"


@dataclass(frozen=True)
class CompositeChange:
    """Mean index change over the muscle-sides of a scope assessed at both visits."""

    scope: str
    count: int
    before: float
    after: float
    change: float  # after - before; negative = less tone
    direction: str  # "improved" | "unchanged" | "worsened"
    mcid: str | None  # "below" | "half_sd" | "08_sd"; None when descriptive (no MCID applies)

    @property
    def mcid_label(self) -> str:
        """Clinician-facing MCID verdict, e.g. "≥ 0.5 SD MCID", or why there is none."""
        if self.mcid:
            return MCID_LABELS[self.mcid]
        if self.scope == "all":
            return "descriptive, no MCID for both limbs together"
        return "descriptive, not the Chen 2019 muscle set"

    @property
    def reaches_mcid(self) -> bool:
        """True for an improvement of at least the limb's 0.5 SD MCID (Chen 2019)."""
        return self.direction == "improved" and self.mcid in ("half_sd", "08_sd")


def judge_mcid(scope: str, change: float) -> str | None:
    """Grade a composite change's size against the limb's MCID.

    Chen 2019 (Eur J Phys Rehabil Med 55:754), stroke: upper limb 0.48 / 0.76, lower limb
    0.45 / 0.73 (0.5 SD / 0.8 SD). The size is judged either way; `direction` says which way.
    """
    if scope not in MCID:
        return None
    half_sd, eight_tenths_sd = MCID[scope]
    size = abs(change)
    if size >= eight_tenths_sd:
        return "08_sd"
    if size >= half_sd:
        return "half_sd"
    return "below"


def composite_change(
    scope: str, pairs: list[tuple[GradeEntry, GradeEntry]], judged: bool = True
) -> CompositeChange | None:
    """Compare the mean index of the same muscle-sides; None when the scope has none in common.

    `judged=False` gives a descriptive composite (no MCID verdict): Chen 2019's MCID applies
    only to the mean over its own muscle set (`chen_pairs`).
    """
    if not pairs:
        return None
    count = len(pairs)
    before = math.fsum(b.index for b, _ in pairs) / count
    after = math.fsum(a.index for _, a in pairs) / count
    # One division of the summed steps, so equal changes give equal floats.
    change = math.fsum(a.index - b.index for b, a in pairs) / count
    direction = "improved" if change < 0 else "worsened" if change > 0 else "unchanged"
    mcid = judge_mcid(scope, change) if judged else None
    return CompositeChange(scope, count, before, after, change, direction, mcid)


def chen_pairs(
    limb: str, pairs: list[tuple[GradeEntry, GradeEntry]]
) -> list[tuple[GradeEntry, GradeEntry]]:
    """The pairs over Chen 2019's muscle set of a limb; empty unless every one of its muscles
    was assessed (on a side in common) at both visits, since its composite is their mean."""
    chosen = [(b, a) for b, a in pairs if b.muscle.code in CHEN_MUSCLES[limb]]
    present = {b.muscle.code for b, _ in chosen}
    return chosen if present == set(CHEN_MUSCLES[limb]) else []


@dataclass(frozen=True)
class Comparison:
    """A visit against a reference visit (baseline or previous), like with like only."""

    reference_visit_id: int
    reference_date: date
    compared_count: int  # muscle-sides assessed at both visits
    grade_changes: tuple[GradeChange, ...]  # in MUSCLES order, left before right
    composites: Mapping[str, CompositeChange]  # descriptive, scopes with a side in common
    chen: Mapping[str, CompositeChange]  # "upper"/"lower" over Chen 2019's set, MCID judged
    pain_now: PainChange | None
    pain_worst: PainChange | None
    same_rater: bool

    @property
    def improved_count(self) -> int:
        """Muscle-sides at least one grade step lower than at the reference visit."""
        return sum(1 for change in self.grade_changes if change.status == "improved")

    @property
    def worsened_count(self) -> int:
        """Muscle-sides at least one grade step higher than at the reference visit."""
        return sum(1 for change in self.grade_changes if change.status == "worsened")


def _pain(measure: str, before: int | None, after: int | None) -> PainChange | None:
    return None if before is None or after is None else judge_pain(measure, before, after)


def compare(reference: VisitSummary, visit: VisitSummary) -> Comparison:
    """Compare a visit with a reference visit over the muscle-sides assessed at both.

    CLINICAL.md: compare like with like; per muscle-side the change in grade steps; the
    mean-index composite per limb and of all sides (descriptive); and, where every muscle of
    Chen 2019's set was assessed at both visits, that set's composite judged against its MCID.
    """
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
