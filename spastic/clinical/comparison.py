"""One visit summarised, and two visits compared: what changed, and whether it matters.

Pure: works on `records.VisitRecord`; numbers are floats, unrounded (round only for display).
Pain ratings are judged in `pain`.
Every threshold is a `dosing.Threshold` in `THRESHOLDS`, quoting ../shared/CLINICAL.md.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from types import MappingProxyType

from spastic.clinical import pain, scales
from spastic.clinical.dosing import Threshold
from spastic.clinical.pain import PainChange, judge_pain
from spastic.clinical.records import same_rater
from spastic.clinical.visit_summary import (
    SCOPES,
    Composite,
    GradeEntry,
    VisitSummary,
    composite,
    median_grade_label,
    summarise,
)

__all__ = [
    "CHEN_MUSCLES",
    "Comparison",
    "Composite",
    "CompositeChange",
    "GradeChange",
    "GradeEntry",
    "VisitSummary",
    "compare",
    "composite",
    "composite_change",
    "median_grade_label",
    "step_status",
    "summarise",
]

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


@lru_cache(maxsize=4096)
def _composite_change(
    scope: str, count: int, before_sum: int, after_sum: int, judged: bool
) -> CompositeChange:
    # Whole indices sum exactly, so these are the floats of math.fsum over the pairs; one
    # division of the summed steps, so equal changes give equal floats.
    change = (after_sum - before_sum) / count
    direction = "improved" if change < 0 else "worsened" if change > 0 else "unchanged"
    mcid = judge_mcid(scope, change) if judged else None
    return CompositeChange(
        scope, count, before_sum / count, after_sum / count, change, direction, mcid
    )


def composite_change(
    scope: str, pairs: list[tuple[GradeEntry, GradeEntry]], judged: bool = True
) -> CompositeChange | None:
    """Compare the mean index of the same muscle-sides; None when the scope has none in common.

    `judged=False` gives a descriptive composite (no MCID verdict): Chen 2019's MCID applies
    only to the mean over its own muscle set (`chen_pairs`).
    """
    if not pairs:
        return None
    before, after = sum(b.index for b, _ in pairs), sum(a.index for _, a in pairs)
    return _composite_change(scope, len(pairs), before, after, judged)


def chen_pairs(
    limb: str, pairs: list[tuple[GradeEntry, GradeEntry]]
) -> list[tuple[GradeEntry, GradeEntry]]:
    """The pairs over Chen 2019's muscle set of a limb; empty unless every one of its muscles
    was assessed (on a side in common) at both visits, since its composite is their mean."""
    chosen = [(b, a) for b, a in pairs if b.muscle.code in CHEN_MUSCLES[limb]]
    present = {b.muscle.code for b, _ in chosen}
    return chosen if present == set(CHEN_MUSCLES[limb]) else []


# A grade change depends only on (muscle, side, grade before, grade after): each of the few
# thousand possible ones is built once and shared, frozen, by every comparison (issue 16).
_CHANGES: dict[tuple[tuple[str, str, str], tuple[str, str, str]], GradeChange] = {
    ((muscle.code, side, before), (muscle.code, side, after)): GradeChange(
        muscle,
        side,
        before,
        after,
        scales.MAS_INDEX[after] - scales.MAS_INDEX[before],
        step_status(scales.MAS_INDEX[after] - scales.MAS_INDEX[before]),
    )
    for muscle in scales.MUSCLES
    for side in scales.SIDES
    for before in scales.MAS_GRADES
    for after in scales.MAS_GRADES
}
# The sums each muscle's pairs join: all sides, its limb, and its limb's Chen 2019 set if in it.
_SUMS_OF: dict[str, tuple[str, ...]] = {
    m.code: (
        "all",
        m.limb,
        *(f"chen {limb}" for limb, codes in CHEN_MUSCLES.items() if m.code in codes),
    )
    for m in scales.MUSCLES
}
_SUM_KEYS = (*SCOPES, *(f"chen {limb}" for limb in CHEN_MUSCLES))


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


@cache
def _pain(measure: str, before: int | None, after: int | None) -> PainChange | None:
    # Ratings are whole numbers 0-10: at most 2 x 12 x 12 distinct answers, each built once.
    return None if before is None or after is None else judge_pain(measure, before, after)


def _any_sides(reference: VisitSummary, visit: VisitSummary):
    """The grade changes, and per scope and Chen limb [count, before sum, after sum, muscles]:
    one pass over the sides assessed at both."""
    before = reference.by_side
    changes = []
    sums = {key: [0, 0, 0, set()] for key in _SUM_KEYS}
    for entry in visit.grades:
        code = entry.muscle.code
        old = before.get((code, entry.side))
        if old is None:
            continue
        changes.append(_CHANGES[(code, entry.side, old.grade), (code, entry.side, entry.grade)])
        for key in _SUMS_OF[code]:
            total = sums[key]
            total[0] += 1
            total[1] += old.index
            total[2] += entry.index
            total[3].add(code)
    return changes, sums


def _same_sides(reference: VisitSummary, visit: VisitSummary):
    """As `_any_sides` when both visits assessed the same sides (the usual case): every grade
    pairs with its own, so each visit's own sums serve and the changes are looked up at once."""
    changes = list(
        map(_CHANGES.__getitem__, zip(reference.grade_keys, visit.grade_keys, strict=True))
    )
    old, new = reference.index_sums, visit.index_sums
    sums = {
        scope: [old[scope][0], old[scope][1], new[scope][1], ()] for scope in SCOPES if scope in old
    }
    for limb, codes in CHEN_MUSCLES.items():
        present = [code for code in codes if code in old]
        sums[f"chen {limb}"] = [
            sum(old[code][0] for code in present),
            sum(old[code][1] for code in present),
            sum(new[code][1] for code in present),
            present,
        ]
    return changes, sums


def compare(reference: VisitSummary, visit: VisitSummary) -> Comparison:
    """Compare a visit with a reference visit over the muscle-sides assessed at both.

    CLINICAL.md: compare like with like; per muscle-side the change in grade steps; the
    mean-index composite per limb and of all sides (descriptive); and, where every muscle of
    Chen 2019's set was assessed at both visits, that set's composite judged against its MCID.
    One pass over the visit's grades (issue 16): the same results as pairing the sides and
    summing each scope apart (`composite_change`, `chen_pairs`).
    """
    same = reference.by_side.keys() == visit.by_side.keys()
    changes, sums = (_same_sides if same else _any_sides)(reference, visit)
    composites = {
        scope: _composite_change(scope, *sums[scope][:3], judged=False)
        for scope in SCOPES
        if scope in sums and sums[scope][0]
    }
    chen = {
        limb: _composite_change(limb, *sums[f"chen {limb}"][:3], judged=True)
        for limb, codes in CHEN_MUSCLES.items()
        if len(sums[f"chen {limb}"][3]) == len(codes)
    }
    old, new = reference.record, visit.record
    return Comparison(
        reference.visit_id,
        reference.visit_date,
        len(changes),
        tuple(changes),
        MappingProxyType(composites),
        MappingProxyType(chen),
        _pain("now", old.pain_now, new.pain_now),
        _pain("worst", old.pain_worst, new.pain_worst),
        same_rater(reference.rater, visit.rater),
    )
