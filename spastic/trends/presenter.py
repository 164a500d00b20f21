"""A patient's trend from the database, and the words and numbers the page (and PDF) show.

`load_trend` is the one place that turns stored rows into `scoring.compute_trend` input; the
rest turns the pure results into display rows without recomputing anything.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from flask import get_template_attribute
from markupsafe import Markup

from spastic.clinical import scales
from spastic.clinical.comparison import CHEN_SET_WORDS, Comparison, CompositeChange
from spastic.clinical.dosing import SEVERITIES, DoseChange, Flag, format_dose
from spastic.clinical.pain import PainChange
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.regimen import describe_regimen
from spastic.clinical.scoring import (
    GridCell,
    Trend,
    VisitTrend,
    compute_trend,
    format_change,
    format_index,
    format_percent,
)
from spastic.clinical.verdict import Verdict, verdict
from spastic.models import Patient
from spastic.patients.regimen import as_pure_changes
from spastic.trends.loading import signed_records

# Number formats for templates: the page and the PDF print every number through these.
FORMAT = SimpleNamespace(
    index=format_index, change=format_change, percent=format_percent, dose=format_dose
)
# Text and symbol for each direction of change, so that colour is never the only cue.
STATUS = {
    "improved": ("▼", "Improved"),
    "worsened": ("▲", "Worsened"),
    "unchanged": ("=", "Unchanged"),
    "not_compared": ("·", "Assessed once"),
}
SCOPE_LABELS = {"upper": "Upper limb", "lower": "Lower limb", "all": "All sides"}
# A mean of 0-5 indexes is not a grade: every label says so, so it is never read as one.
MEAN_LABEL = "mean of grade indexes, 0-5"
CHEN_SET_LABELS = CHEN_SET_WORDS
SEVERITY_LABELS = {"urgent": "Urgent", "warning": "Warning", "caution": "Caution", "info": "Info"}


class GridCells:
    """Render a row of the grade grid's cells. A cell is one of a few dozen values (its grade,
    and its steps from the previous visit), so each distinct one is rendered once per page by
    the `trends/_cell.html` macro, not once per visit and muscle-side (issue 16)."""

    def __init__(self) -> None:
        self._macro = get_template_attribute("trends/_cell.html", "cell")
        self._html: dict[GridCell | None, Markup] = {}

    def _cell(self, cell: GridCell | None) -> Markup:
        html = self._html.get(cell)
        if html is None:
            html = self._html[cell] = "\n          " + self._macro(cell, STATUS)
        return html

    def __call__(self, cells: Sequence[GridCell | None]) -> Markup:
        return Markup("").join(map(self._cell, cells))


def patient_context(patient: Patient) -> PatientContext:
    """What the dose checks need to know about a stored patient."""
    return PatientContext(
        diagnosis=patient.diagnosis,
        egfr=None if patient.egfr is None else float(patient.egfr),
        on_dialysis=bool(patient.on_dialysis),
        sci_level=patient.sci_level,
    )


def load_trend(patient: Patient) -> Trend:
    """Compute the trend of a patient's signed visits (amendments applied) and regimen."""
    records = signed_records(patient.id)
    changes = as_pure_changes(patient.dose_changes)
    return compute_trend(records, changes, patient_context(patient))


def regimen_label(doses: Mapping[str, DoseChange]) -> str:
    """The regimen in force at a visit, e.g. "45 mg/day oral"; routes never summed."""
    return describe_regimen(doses)


@dataclass(frozen=True)
class ChangeRow:
    """One line of a "what changed" table: a composite or a pain rating against a reference."""

    measure: str
    count: str  # e.g. "6 sides in common"; "" for pain
    before: str
    after: str
    change: str
    status: str  # "improved" | "unchanged" | "worsened"
    verdict: str
    important: bool  # reaches the MCID, or a clinically important pain change


def composite_row(change: CompositeChange, caveat: str | None = None) -> ChangeRow:
    """Describe a composite change: a Chen 2019 set judged against its MCID (with the caveat
    for a diagnosis other than stroke), any other composite as descriptive."""
    verdict = f"{STATUS[change.direction][1]}, {change.mcid_label}"
    if change.direction == "unchanged":
        verdict = "Unchanged" + ("" if change.mcid else f", {change.mcid_label}")
    if change.mcid and caveat:
        verdict += f"; {caveat}"
    measure = f"{SCOPE_LABELS[change.scope]}, {MEAN_LABEL}"
    if change.mcid:
        measure = (
            f"{SCOPE_LABELS[change.scope]}, Chen 2019 set ({CHEN_SET_LABELS[change.scope]}), "
            f"{MEAN_LABEL}"
        )
    return ChangeRow(
        measure,
        f"{change.count} side{'s' if change.count != 1 else ''} in common",
        format_index(change.before),
        format_index(change.after),
        format_change(change.change),
        change.direction,
        verdict,
        change.mcid in ("half_sd", "08_sd"),
    )


def pain_row(change: PainChange) -> ChangeRow:
    """Describe a pain change: important at 2 points or 30% (Farrar 2001), IMMPACT band."""
    measure = "Pain now" if change.measure == "now" else "Worst pain in 24 h"
    percent = "" if change.percent is None else f" ({format_percent(change.percent)})"
    verdict = "Clinically important" if change.important else "Not clinically important"
    if change.immpact:
        verdict += f"; IMMPACT: {change.immpact}"
    return ChangeRow(
        measure,
        "",
        str(change.before),
        str(change.after),
        f"{change.change:+d}{percent}" if change.change else "0",
        change.direction,
        verdict,
        change.important,
    )


def change_rows(comparison: Comparison, caveat: str | None = None) -> list[ChangeRow]:
    """The Chen 2019 sets (MCID judged), the composites per limb and all sides (descriptive),
    then pain now and worst."""
    rows = [composite_row(c, caveat) for c in comparison.chen.values()]
    rows += [
        composite_row(c) for s in ("upper", "lower", "all") if (c := comparison.composites.get(s))
    ]
    rows += [pain_row(p) for p in (comparison.pain_now, comparison.pain_worst) if p is not None]
    return rows


def comparisons(trend: Trend) -> list[tuple[str, VisitTrend, Comparison]]:
    """The latest visit against baseline and, when different, against the previous visit."""
    latest = trend.latest
    if latest is None or latest.vs_baseline is None:
        return []
    found = [("Since baseline", latest, latest.vs_baseline)]
    if (
        latest.vs_previous
        and latest.vs_previous.reference_visit_id != trend.visits[0].summary.visit_id
    ):
        found.append(("Since the previous visit", latest, latest.vs_previous))
    return found


def flag_counts(flags: tuple[Flag, ...]) -> list[tuple[str, int]]:
    """(severity, how many), most severe first, for the flags present."""
    counts = Counter(flag.severity for flag in flags)
    return [(s, counts[s]) for s in reversed(SEVERITIES) if counts[s]]


def responder_counts(trend: Trend) -> dict[str, int]:
    """How many muscle-sides improved, stayed, worsened since baseline, or were assessed once."""
    counts = Counter(r.status for r in trend.responders)
    return {status: counts[status] for status in STATUS if counts[status]}


def visit_dates(trend: Trend) -> dict:
    """Map each visit id in the trend to its date."""
    return {v.summary.visit_id: v.summary.visit_date for v in trend.visits}


def format_median(value: float | None) -> str:
    """Show a median of whole-number ratings: "4", or "4.5" between two."""
    if value is None:
        return "-"
    return f"{value:g}"


def side_effects_label(record: VisitRecord) -> str:
    """The side effects reported at a visit, e.g. "Drowsiness (moderate)"; "none" when none."""
    present = record.side_effects_present()
    names = [
        f"{label} ({record.side_effects[code]})"
        for code, label in scales.SIDE_EFFECTS.items()
        if code in present
    ]
    return ", ".join(names) or "none"


def assessed_scopes(trend: Trend) -> list[str]:
    """The scopes ("upper", "lower", "all") assessed at one visit or more, for summary rows."""
    return [
        scope
        for scope in SCOPE_LABELS
        if any(v.summary.composites[scope].count for v in trend.visits)
    ]


def verdict_of(trend: Trend, patient: Patient, as_of: date) -> Verdict:
    """The verdict block of a trend on a date: today on the trend page, the visit date in a PDF."""
    return verdict(trend, patient_context(patient), as_of)
