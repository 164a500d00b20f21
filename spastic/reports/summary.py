"""The physician's visit summary: one results object for the PDF, from the same scoring.

The trend is computed by `scoring.compute_trend` from the signed visits up to this one (and
this one, if not yet signed), exactly as the trend page computes it; nothing is recomputed.
"""

import json
from dataclasses import dataclass
from datetime import date

from spastic.clinical import scales
from spastic.clinical.comparison import Comparison
from spastic.clinical.scoring import Trend, VisitTrend, compute_trend
from spastic.models import Visit
from spastic.patients import pumps
from spastic.patients.regimen import as_pure_changes
from spastic.trends.charts import chart_series
from spastic.trends.presenter import change_rows, patient_context, regimen_label
from spastic.visits.content import as_record, carried_in, effective_content, signed_visits
from spastic.visits.labels import label_for, tardieu_display


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


def trend_until(visit: Visit) -> Trend:
    """The trend of the signed visits up to this one, with this one last even if unsigned."""
    earlier = [
        v
        for v in signed_visits(visit.patient_id)
        if (v.visit_date, v.id) <= (visit.visit_date, visit.id) and v.id != visit.id
    ]
    records = [as_record(v) for v in [*earlier, visit]]
    patient = visit.patient
    return compute_trend(records, as_pure_changes(patient.dose_changes), patient_context(patient))


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


def summary_context(visit: Visit, clinic) -> dict:
    """Everything the summary template prints, computed once."""
    trend = trend_until(visit)
    latest: VisitTrend = trend.latest
    content = effective_content(visit)
    previous_date = trend.visits[-2].summary.visit_date if len(trend.visits) > 1 else None
    return {
        "visit": visit,
        "patient": visit.patient,
        "clinic": clinic,
        "content": content,
        "draft": visit.status != "signed",
        "trend": trend,
        "regimen": regimen_label(latest.doses),
        "dose_changes": _changes_between(visit, previous_date),
        "mas": mas_lines(trend, carried_in(content)),
        "changes": _comparisons(latest),
        "flags": trend.flags,
        "side_effects": [
            (scales.SIDE_EFFECTS[k[3:]], v)
            for k, v in content.items()
            if k.startswith("se:") and v != "none"
        ],
        "tardieu": [
            (label_for(k), tardieu_display(v))
            for k, v in content.items()
            if k.startswith("tardieu:") and v
        ],
        "amendments": [(a, json.loads(a.changes)) for a in visit.amendments],
        "label_for": label_for,
        "chart_series": chart_series(trend),
        "previous_date": previous_date,
        "pump": pumps.pump_view(visit.patient, visit.visit_date, as_known_on=True),
    }


def _comparisons(latest: VisitTrend) -> list[tuple[str, Comparison, list]]:
    found = []
    if latest.vs_previous is not None:
        found.append(
            ("Since the previous visit", latest.vs_previous, change_rows(latest.vs_previous))
        )
    if latest.vs_baseline is not None and (
        latest.vs_previous is None
        or latest.vs_baseline.reference_visit_id != latest.vs_previous.reference_visit_id
    ):
        found.append(("Since baseline", latest.vs_baseline, change_rows(latest.vs_baseline)))
    return found


def _changes_between(visit: Visit, since: date | None) -> list:
    return [
        c
        for c in visit.patient.dose_changes
        if c.effective_date <= visit.visit_date and (since is None or c.effective_date > since)
    ]


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
