"""The verdict: what a physician must learn in ten seconds, in plain sentences.

One function, `verdict(trend, patient, as_of)`, read first on the trend page and on page 1 of
the PDF. It recomputes nothing the trend already holds; it picks and words:

- the response to the latest dose change (`Response.kind`): "responding", "no_further_response",
  "worse", "unchanged" (a reduction, stop or switch followed by no change reaching the MCID),
  or "too_early" with the reason;
- the flags new since the previous signed visit, above the older ones;
- side effects new or worse since the previous visit, and the Penn spasm frequency change;
- the dose in force (`regimen.regimen_in_force`, the one definition) and when it last changed.

Rules, each with its source:
- a tone change is judged only on the composite of Chen 2019's muscle set, against its MCID
  (0.5 SD: upper 0.48, lower 0.45; Chen 2019, Eur J Phys Rehabil Med 55:754; CLINICAL.md);
- at least 2 signed visits at the dose before judging it (issue #14 section 1,
  "fewer than 2 visits at this dose" is too early);
- the same rater at both visits compared (CLINICAL.md: inter-rater agreement is weak,
  Baunsgaard 2016) and the same muscles (CLINICAL.md: compare like with like);
- "no further response" after 2 increases in a row without reaching the MCID
  (`responders.NO_RESPONSE_INCREASES`, issue #4 section 3).
Pure: no app, no database.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from spastic.clinical import scales
from spastic.clinical.comparison import CHEN_DIAGNOSIS, CHEN_SET_WORDS, Comparison, compare
from spastic.clinical.dosing import DoseChange, Flag, Threshold, format_dose
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.regimen import Regimen, regimen_in_force
from spastic.clinical.responders import NO_RESPONSE_INCREASES
from spastic.clinical.scoring import Trend, VisitTrend

THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("verdict_min_visits_at_dose", Decimal(2), "visits", "issue #14 section 1", None),
)
MIN_VISITS_AT_DOSE = int(THRESHOLDS[0].value)
KINDS = ("responding", "no_further_response", "worse", "unchanged", "too_early")
LIMB_LABELS = {"upper": "upper limb", "lower": "lower limb"}


@dataclass(frozen=True)
class Response:
    """The response to the latest dose change, and the dose steps it is about."""

    kind: str  # one of KINDS
    headline: str  # e.g. "No further response to the last 2 increases"
    steps: tuple[str, ...]  # e.g. ("45 → 60 mg/day oral on 3 Jun 2026",)
    basis: str  # what was compared, e.g. "lower limb, Chen 2019 set: -0.50 (≥ 0.5 SD MCID)"
    reason: str | None = None  # why it is too early to judge


@dataclass(frozen=True)
class Verdict:
    """Everything the verdict block shows, in reading order."""

    response: Response
    new_flags: tuple[Flag, ...]  # new since the previous signed visit, newest first
    older_flags: tuple[Flag, ...]
    side_effects: tuple[str, ...]  # new or worse since the previous visit, as sentences
    spasms: str | None  # Penn frequency change since the previous visit
    regimen: str  # the dose in force, in words
    regimen_changed: date | None  # when any route last changed
    mcid_caveat: str | None  # for a diagnosis other than stroke
    previous_date: date | None  # the previous signed visit


def mcid_caveat(diagnosis: str) -> str | None:
    """Say that Chen 2019's MCID is stroke-derived, for every other diagnosis (CLINICAL.md)."""
    if diagnosis == CHEN_DIAGNOSIS:
        return None
    name = "this diagnosis" if diagnosis == "other" else scales.DIAGNOSES[diagnosis].lower()
    return f"stroke-derived reference (Chen 2019); no MCID established for {name}"


def verdict(trend: Trend, patient: PatientContext, as_of: date) -> Verdict:
    """Word the verdict of a trend on a date (today on the trend page, the visit date in a PDF)."""
    changes = [c for history in trend.dose_history.values() for c in history]
    regimen = regimen_in_force(changes, as_of)
    visits = trend.visits
    previous = visits[-2] if len(visits) > 1 else None
    previous_date = previous.summary.visit_date if previous else None
    new = tuple(f for f in trend.flags if _is_new(f, previous_date))
    last = regimen.last_change
    return Verdict(
        response=_response(trend, changes, regimen),
        new_flags=new,
        older_flags=tuple(f for f in trend.flags if f not in new),
        side_effects=_side_effects(previous, visits[-1]) if previous else (),
        spasms=_spasms(previous.summary.record, visits[-1].summary.record) if previous else None,
        regimen=regimen.label,
        regimen_changed=last.effective_date if last else None,
        mcid_caveat=mcid_caveat(patient.diagnosis),
        previous_date=previous_date,
    )


def _is_new(flag: Flag, previous_date: date | None) -> bool:
    if previous_date is None:
        return True
    return flag.on is not None and flag.on > previous_date


def _too_early(reason: str, steps: tuple[str, ...] = ()) -> Response:
    return Response("too_early", "Too early to judge", steps, "", reason)


def _response(trend: Trend, changes: list[DoseChange], regimen: Regimen) -> Response:
    last = regimen.last_change
    if trend.latest is None:
        return _too_early("no signed visit yet")
    if last is None:
        return _too_early("no baclofen dose recorded")
    day = last.effective_date
    steps, increase = _steps_on(changes, regimen, day)
    before = [v for v in trend.visits if v.summary.visit_date < day]
    after = [v for v in trend.visits if v.summary.visit_date >= day]
    if not after:
        return _too_early(f"no signed visit since the change on {day:%-d %b %Y}", steps)
    if not before:
        return _too_early(f"no signed visit before the change on {day:%-d %b %Y}", steps)
    if len(after) < MIN_VISITS_AT_DOSE:
        return _too_early(
            f"{len(after)} signed visit at this dose, at least {MIN_VISITS_AT_DOSE} needed", steps
        )
    reference, latest = before[-1].summary, after[-1].summary
    comparison = compare(reference, latest)
    if not comparison.same_rater:
        return _too_early(
            f"a different rater ({reference.rater} on {reference.visit_date:%-d %b %Y}, "
            f"{latest.rater} on {latest.visit_date:%-d %b %Y})",
            steps,
        )
    if not comparison.chen:
        return _too_early(_not_same_muscles(), steps)
    return _judge(trend, comparison, steps, increase, last.route or "")


def _judge(
    trend: Trend, comparison: Comparison, steps: tuple[str, ...], increase: bool, route: str
) -> Response:
    basis = _basis(comparison)
    since = f"{comparison.reference_date:%-d %b %Y}"
    limbs = comparison.chen.values()
    if any(c.direction == "worsened" and c.mcid in ("half_sd", "08_sd") for c in limbs):
        return Response("worse", f"Worse since {since}", steps, basis)
    if any(c.reaches_mcid for c in limbs):
        return Response("responding", "Responding", steps, basis)
    if not increase:
        return Response("unchanged", "No change reaching the MCID", steps, basis)
    response = trend.dose_response.get(route)
    count = response.non_responding_increases if response else 0
    if count >= NO_RESPONSE_INCREASES:
        unit = scales.ROUTE_UNITS[route]
        rises = tuple(
            f"{format_dose(i.from_dose)} → {format_dose(i.to_dose)} {unit} {route}"
            for i in response.increases[-count:]
        )
        headline = f"No further response to the last {count} increases"
        return Response("no_further_response", headline, rises, basis)
    reason = (
        f"{max(count, 1)} increase without a response; no further response is said after "
        f"{NO_RESPONSE_INCREASES} in a row"
    )
    return Response("too_early", "Too early to judge", steps, basis, reason)


def _not_same_muscles() -> str:
    sets = "; ".join(f"{limb}: {words}" for limb, words in CHEN_SET_WORDS.items())
    return (
        f"not the same muscles: neither Chen 2019 muscle set was assessed at both visits ({sets})"
    )


def _basis(comparison: Comparison) -> str:
    """The Chen-set composites compared, e.g. "lower limb, Chen 2019 set: -0.50 (≥ 0.5 SD MCID)"."""
    parts = []
    for limb, change in comparison.chen.items():
        size = "0.00" if round(change.change, 2) == 0 else f"{change.change:+.2f}"
        parts.append(f"{LIMB_LABELS[limb]}, Chen 2019 set: {size} ({change.mcid_label})")
    return (
        f"Latest visit against {comparison.reference_date:%-d %b %Y}, mean of grade indexes "
        f"(0-5): " + "; ".join(parts)
    )


def _steps_on(
    changes: list[DoseChange], regimen: Regimen, day: date
) -> tuple[tuple[str, ...], bool]:
    """The day's dose steps in words, and whether every route changed that day went up."""
    before = regimen_in_force(changes, day - timedelta(days=1)).doses
    steps, rises = [], []
    for route, change in regimen.doses.items():
        if change.effective_date != day:
            continue
        old = before.get(route)
        when = f"on {day:%-d %b %Y}"
        unit, name = scales.ROUTE_UNITS[route], route
        if old is None or old.daily_dose == 0:
            steps.append(f"{name} started at {format_dose(change.daily_dose)} {unit} {when}")
            rises.append(False)
        elif change.daily_dose == 0:
            steps.append(f"{name} stopped (from {format_dose(old.daily_dose)} {unit}) {when}")
            rises.append(False)
        else:
            dose_text = f"{format_dose(old.daily_dose)} → {format_dose(change.daily_dose)}"
            steps.append(f"{dose_text} {unit} {name} {when}")
            rises.append(change.daily_dose > old.daily_dose)
    return tuple(steps), bool(rises) and all(rises)


def _side_effects(previous: VisitTrend, latest: VisitTrend) -> tuple[str, ...]:
    """Side effects reported now that were absent before, or at a higher severity."""
    old, new = previous.summary.record.side_effects, latest.summary.record.side_effects
    rank = scales.SIDE_EFFECT_SEVERITIES.index
    found = []
    for code, label in scales.SIDE_EFFECTS.items():
        now, before = new.get(code, "none"), old.get(code, "none")
        if now == "none" or rank(now) <= rank(before):
            continue
        found.append(
            f"New: {label} ({now})" if before == "none" else f"Worse: {label} {before} → {now}"
        )
    return tuple(found)


def _spasms(previous: VisitRecord, latest: VisitRecord) -> str | None:
    """Penn spasm frequency (0-4) then and now; no MCID is established (CLINICAL.md)."""
    before, now = previous.penn_frequency, latest.penn_frequency
    if before is None or now is None:
        return None
    if now == before:
        return f"Spasms (Penn frequency 0-4) unchanged at {now}"
    word = "more frequent" if now > before else "less frequent"
    return f"Spasms (Penn frequency 0-4) {before} → {now}: {word}"
