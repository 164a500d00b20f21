"""One visit summarised: each grade with its index, composites per scope, sides at 1+ or above.

Pure: works on `records.VisitRecord`; numbers are floats, unrounded (round only for display).
`comparison` re-exports these names; it compares two summaries.

Speed (issue 16): a grade entry depends only on (muscle, side, grade), so each of the few
hundred possible entries is built once (`ENTRIES`) and shared, frozen, by every summary; a
summary keeps its grades by muscle-side (`by_side`) so that lookups never scan its grades.
"""

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from types import MappingProxyType

from spastic.clinical import scales
from spastic.clinical.records import MuscleSide, VisitRecord

SCOPES: tuple[str, ...] = ("upper", "lower", "all")
LIMBS: tuple[str, ...] = ("upper", "lower")
_FIRST, _SECOND = itemgetter(0), itemgetter(1)


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
    ordered = sorted(indices)
    count = len(ordered)
    middle = count // 2
    # The median of statistics.median, and the sum of whole indices exact: the same floats.
    median = float(ordered[middle]) if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    label = _MEDIAN_LABELS.get(median) or median_grade_label(median)
    return Composite(scope, count, sum(ordered) / count, median, label)


# Medians of whole indices are whole or halves: 0, 0.5 ... 5, each named once.
_MEDIAN_LABELS = {half / 2: median_grade_label(half / 2) for half in range(11)}


# Muscle-sides in MUSCLES order, left before right; and every possible grade entry, shared.
SIDE_RANK: dict[MuscleSide, int] = {
    (muscle.code, side): rank
    for rank, (muscle, side) in enumerate((m, s) for m in scales.MUSCLES for s in scales.SIDES)
}
ENTRIES: dict[tuple[str, str, str], GradeEntry] = {
    (muscle.code, side, grade): GradeEntry(muscle, side, grade, scales.mas_index(grade))
    for muscle in scales.MUSCLES
    for side in scales.SIDES
    for grade in scales.MAS_GRADES
}


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

    # Derived from `grades` when first needed, for lookups that never scan them (issue 16).
    _derived: tuple | None = field(default=None, init=False, compare=False, repr=False)

    def _derive(self) -> tuple:
        if self._derived is None:
            by_side, keys, sums = {}, [], {}
            for g in self.grades:
                code = g.muscle.code
                by_side[code, g.side] = g
                keys.append((code, g.side, g.grade))
                for key in (code, g.muscle.limb, "all"):
                    count, total = sums.get(key, (0, 0))
                    sums[key] = (count + 1, total + g.index)
            derived = (MappingProxyType(by_side), tuple(keys), MappingProxyType(sums))
            object.__setattr__(self, "_derived", derived)
        return self._derived

    @property
    def by_side(self) -> Mapping[MuscleSide, GradeEntry]:
        """The grades by (muscle code, side)."""
        return self._derive()[0]

    @property
    def grade_keys(self) -> tuple[tuple[str, str, str], ...]:
        """(muscle code, side, grade) of each grade, in `grades` order."""
        return self._derive()[1]

    @property
    def index_sums(self) -> Mapping[str, tuple[int, int]]:
        """(sides, sum of indices) by muscle code, by limb and for "all"."""
        return self._derive()[2]

    def grade_at(self, muscle_code: str, side: str) -> GradeEntry | None:
        """Return the grade of a muscle-side, or None when it was not assessed."""
        return self.by_side.get((muscle_code, side))


def _entry(code: str, side: str, grade: str) -> GradeEntry:
    found = ENTRIES.get((code, side, grade))
    if found is None:  # raises as the scales do for an unknown muscle or grade
        return GradeEntry(scales.MUSCLE_BY_CODE[code], side, grade, scales.mas_index(grade))
    return found


# What a record's `grades.items()` yields, ((muscle code, side), grade), to (rank, entry): one
# lookup per grade, then sorting by rank (unique per side) orders the grades.
_RANKED: dict[tuple[MuscleSide, str], tuple[int, GradeEntry]] = {
    ((code, side), grade): (SIDE_RANK[code, side], entry)
    for (code, side, grade), entry in ENTRIES.items()
}
# MUSCLES lists every upper-limb muscle before the lower limb's: the first this many ranks
# are the upper limb's sides, so a summary's grades in rank order are upper, then lower.
_UPPER_SIDES = sum(1 for muscle in scales.MUSCLES if muscle.limb == "upper") * len(scales.SIDES)
if [m.limb for m in scales.MUSCLES] != sorted((m.limb for m in scales.MUSCLES), key=LIMBS.index):
    raise RuntimeError("scales.MUSCLES must list the upper limb's muscles, then the lower's")
_AT_1PLUS = scales.MAS_INDEX["1+"]
_EMPTY = {scope: Composite(scope, 0, None, None, None) for scope in SCOPES}
# A composite is fixed by its scope, count, sum of indices and median: equal ones are shared,
# like grade entries, so that a long history holds a few hundred, not three per visit. Kept up
# to this many (a count of 30 sides has 151 sums and 11 medians): past it, built per visit.
_COMPOSITES: dict[tuple[str, int, int, float], Composite] = {}
_COMPOSITES_KEPT = 20_000


def _composite(ordered: list[int], scope: str) -> Composite:
    # `composite` for indices already sorted.
    count = len(ordered)
    if not count:
        return _EMPTY[scope]
    middle = count // 2
    median = float(ordered[middle]) if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    key = (scope, count, sum(ordered), median)
    found = _COMPOSITES.get(key)
    if found is None:
        label = _MEDIAN_LABELS.get(median) or median_grade_label(median)
        found = Composite(scope, count, key[2] / count, median, label)
        if len(_COMPOSITES) < _COMPOSITES_KEPT:
            _COMPOSITES[key] = found
    return found


def summarise(visit: VisitRecord) -> VisitSummary:
    """Summarise one visit: each grade and index, composites per scope, sides at 1+ or above."""
    try:
        ranked = sorted(map(_RANKED.__getitem__, visit.grades.items()), key=_FIRST)
    except KeyError:
        ranked = sorted(
            ((SIDE_RANK[key], _entry(*key, grade)) for key, grade in visit.grades.items()),
            key=_FIRST,
        )
    grades = tuple(map(_SECOND, ranked))
    every = [entry.index for entry in grades]  # in rank order: the upper limb's first
    split = bisect_left(ranked, _UPPER_SIDES, key=_FIRST)
    ordered = sorted(every)
    composites = {
        "upper": _composite(sorted(every[:split]), "upper"),
        "lower": _composite(sorted(every[split:]), "lower"),
        "all": _composite(ordered, "all"),
    }
    return VisitSummary(
        visit.visit_id,
        visit.visit_date,
        visit.rater,
        grades,
        MappingProxyType(composites),
        len(ordered) - bisect_left(ordered, _AT_1PLUS),
        visit,
    )
