"""The physician's visit summary: one results object for the PDF, from the same scoring.

The trend is computed by `scoring.compute_trend` from the signed visits up to this one (and
this one, if not yet signed), exactly as the trend page computes it; nothing is recomputed.
"""

import json
from dataclasses import dataclass, replace
from datetime import date

from spastic.clinical import scales
from spastic.clinical.comparison import CHEN_SET_WORDS, Comparison
from spastic.clinical.scoring import Trend, VisitTrend, compute_trend
from spastic.clinical.verdict import mcid_caveat
from spastic.models import Visit
from spastic.patients import pumps
from spastic.patients.regimen import as_pure_changes
from spastic.reports.known import Known, dose_changes_known, known_for, records_until
from spastic.trends.charts import chart_series
from spastic.trends.presenter import (
    MEAN_LABEL,
    change_rows,
    patient_context,
    regimen_label,
    verdict_of,
)
from spastic.visits.content import carried_in, effective_content
from spastic.visits.labels import label_for, tardieu_display
from spastic.visits.side_effects import side_effect_summary

# The PDF's chart (px): drawn beside "Also recorded" at 45% of the text width, where its
# 16 px labels print at about 9.4 pt; lower than the trend page's, so a usual visit fits a page.
CHART_SIZE = (420, 145)
# Why a composite has no MCID verdict: said once, in the note under "What changed".
WHY_DESCRIPTIVE = [", not the Chen 2019 muscle set", ", no MCID for both limbs together"]


@dataclass(frozen=True)
class MasLine:
    label: str
    now: str
    previous: str
    baseline: str
    vs_previous: str
    vs_baseline: str
    status: str  # improved | worsened | unchanged | "" (nothing to compare)
    carried_from: date | None = None  # kept from that visit, not re-examined


@dataclass(frozen=True)
class MasRow:
    """One muscle of the PDF's MAS grid: its left and right sides side by side (None: that
    side was not assessed at this visit, printed as "-")."""

    muscle: str
    left: MasLine | None
    right: MasLine | None


def mas_grid(lines: list[MasLine]) -> list[MasRow]:
    """Pair each muscle's sides into one row, in the order of `mas_lines` (one page holds
    12 muscles x 2 sides this way)."""
    rows: dict[str, dict] = {}
    for line in lines:
        muscle, _, side = line.label.rpartition(" - ")
        rows.setdefault(muscle, {})[side.lower()] = line
    return [MasRow(m, s.get("left"), s.get("right")) for m, s in rows.items()]


def carried_dates(lines: list[MasLine]) -> list[date]:
    """The dates grades were carried from (marked in the grid, named once under it)."""
    return sorted({line.carried_from for line in lines if line.carried_from})


def trend_until(visit: Visit, known: Known | None = None, signed: list | None = None) -> Trend:
    """The trend of the signed visits up to this one, with this one last even if unsigned,
    from what was known when this summary version was made (see `known`); `signed`: the
    patient's signed visits, if loaded already."""
    known = known or known_for(visit)
    records = records_until(visit, known, signed)
    changes = as_pure_changes(dose_changes_known(visit, known))
    return compute_trend(records, changes, patient_context(visit.patient))


def mas_lines(trend: Trend, carried: dict | None = None) -> list[MasLine]:
    """This visit's grades against the previous visit and the baseline, like with like;
    `carried` ((muscle, side) -> (grade, date)) names the grades kept unexamined."""
    carried = carried or {}
    latest = trend.latest
    grades = {(g.muscle.code, g.side): g.grade for g in latest.summary.grades}
    previous = _reference_grades(trend, -2)
    baseline = _reference_grades(trend, 0) if len(trend.visits) > 1 else {}
    steps_prev = _steps(latest.vs_previous)
    steps_base = _steps(latest.vs_baseline)
    lines = []
    for muscle in scales.MUSCLES:
        for side in scales.SIDES:
            key = (muscle.code, side)
            if key not in grades:
                continue
            status = steps_base.get(key, (None, ""))[1] or steps_prev.get(key, (None, ""))[1]
            lines.append(
                MasLine(
                    label=f"{muscle.label} - {scales.SIDE_LABELS[side]}",
                    now=grades[key],
                    previous=previous.get(key, "—"),
                    baseline=baseline.get(key, "—"),
                    vs_previous=_signed(steps_prev.get(key, (None, ""))[0]),
                    vs_baseline=_signed(steps_base.get(key, (None, ""))[0]),
                    status=status,
                    carried_from=carried.get(key, (None, None))[1],
                )
            )
    return lines


def summary_context(visit: Visit, clinic, known: Known | None = None) -> dict:
    """Everything the summary template prints (of one version: the newest), computed once."""
    known = known or known_for(visit)
    trend = trend_until(visit, known)
    latest: VisitTrend = trend.latest
    content = effective_content(visit, known.own_at)
    previous_date = trend.visits[-2].summary.visit_date if len(trend.visits) > 1 else None
    return {
        "visit": visit,
        "patient": visit.patient,
        "clinic": clinic,
        "content": content,
        "draft": visit.status != "signed",
        "trend": trend,
        "regimen": regimen_label(latest.doses),
        "dose_changes": _changes_between(dose_changes_known(visit, known), previous_date),
        "mas": (mas := mas_lines(trend, carried_in(content))),
        "mas_grid": mas_grid(mas),
        "carried_dates": carried_dates(mas),
        "changes": (changes := _comparisons(latest, mcid_caveat(visit.patient.diagnosis))),
        "change_lines": change_lines(changes),
        "verdict": verdict_of(trend, visit.patient, visit.visit_date),
        "pdf": True,
        "flags": trend.flags,
        "side_effects": side_effect_summary(content),
        "tardieu": [
            (label_for(k), tardieu_display(v))
            for k, v in content.items()
            if k.startswith("tardieu:") and v
        ],
        "amendments": [
            (a, json.loads(a.changes)) for a in visit.amendments[: known.amendment_count]
        ],
        "summary_version": known.version,
        "label_for": label_for,
        "chart_series": chart_series(trend),
        "chart_size": CHART_SIZE,
        "previous_date": previous_date,
        "pump": pumps.pump_view(visit.patient, visit.visit_date, as_known_on=True),
    }


@dataclass(frozen=True)
class ChangeLine:
    """One measure of the PDF's "What changed" table, against each reference (previous visit,
    baseline): `befores` and `cells` ((change, judgement, important)) in the order of `changes`."""

    measure: str
    count: str
    befores: tuple[str, ...]
    now: str
    cells: tuple[tuple[str, str, bool], ...]


def change_lines(changes: list) -> list[ChangeLine]:
    """Merge the comparisons' rows by measure, one line each; a composite of the same sides
    with the same means as one before it (a limb that is its Chen 2019 set, all sides that
    are one limb) is said once, as the first."""
    by_measure: dict[str, list] = {}
    for index, (_, _, rows) in enumerate(changes):
        for row in rows:
            by_measure.setdefault(row.measure, [None] * len(changes))[index] = row
    lines, said = [], set()
    for measure, rows in by_measure.items():
        numbers = _numbers(rows)
        if "pain" not in measure.lower() and numbers in said:
            continue
        said.add(numbers)
        counts = list(dict.fromkeys(r.count for r in rows if r is not None and r.count))
        lines.append(
            ChangeLine(
                measure,
                " and ".join(c.removesuffix(" in common") for c in counts),
                tuple(r.before if r else "-" for r in rows),
                next(r.after for r in rows if r is not None),
                tuple((r.change, r.verdict, r.important) if r else ("-", "", False) for r in rows),
            )
        )
    return lines


def _numbers(rows: list) -> tuple:
    return tuple(r and (r.count, r.before, r.after) for r in rows)


def _comparisons(latest: VisitTrend, caveat: str | None) -> list[tuple[str, Comparison, list]]:
    found = []
    if latest.vs_previous is not None:
        rows = _short(change_rows(latest.vs_previous, caveat))
        found.append(("Since the previous visit", latest.vs_previous, rows))
    if latest.vs_baseline is not None and (
        latest.vs_previous is None
        or latest.vs_baseline.reference_visit_id != latest.vs_previous.reference_visit_id
    ):
        rows = _short(change_rows(latest.vs_baseline, caveat))
        found.append(("Since baseline", latest.vs_baseline, rows))
    return found


def _short(rows: list) -> list:
    """Name the Chen 2019 sets without their muscles and a descriptive composite's judgement
    without why it is descriptive (the note under the table says both), and the composites
    without "mean of grade indexes, 0-5" (the column header says it)."""
    sets = [f" ({words})" for words in CHEN_SET_WORDS.values()] + [f", {MEAN_LABEL}"]
    return [
        replace(r, measure=_without(r.measure, sets), verdict=_without(r.verdict, WHY_DESCRIPTIVE))
        for r in rows
    ]


def _without(text: str, parts: list[str]) -> str:
    for part in parts:
        text = text.replace(part, "")
    return text


def _changes_between(changes: list, since: date | None) -> list:
    return [c for c in changes if since is None or c.effective_date > since]


def _reference_grades(trend: Trend, position: int) -> dict:
    if len(trend.visits) < 2:
        return {}
    summary = trend.visits[position].summary
    return {(g.muscle.code, g.side): g.grade for g in summary.grades}


def _steps(comparison: Comparison | None) -> dict:
    if comparison is None:
        return {}
    return {(c.muscle.code, c.side): (c.steps, c.status) for c in comparison.grade_changes}


def _signed(steps: int | None) -> str:
    if steps is None:
        return "—"
    return f"{steps:+d}" if steps else "0"
