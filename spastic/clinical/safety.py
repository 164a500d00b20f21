"""Safety flags on a baclofen regimen and the visits, each rule citing its source.

Rules of issue #4 section 4 (the withdrawal rules are in `withdrawal`); every number comes
from `dosing.THRESHOLDS`. Pure: no app, no database.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_UP, Decimal
from itertools import pairwise

from spastic.clinical import scales
from spastic.clinical.dosing import (
    SEVERITIES,
    THRESHOLD_BY_KEY,
    DoseChange,
    Flag,
    day_doses,
    dose_in_force,
    increases,
)
from spastic.clinical.dosing import format_dose as _fmt
from spastic.clinical.flagging import dose_flag, threshold_value, visit_flag
from spastic.clinical.records import PatientContext, VisitRecord, same_rater
from spastic.clinical.withdrawal import abrupt_stop_flags, reported_stop_flags


def legacy_row_flags(changes: Sequence[DoseChange]) -> list[Flag]:
    """Flag stored dose rows with a missing route or a unit that does not match the route.

    Such rows are refused at entry (issue #2) and left out of every dose series.
    """
    flags = []
    for change in changes:
        if change.route not in scales.ROUTES:
            message = (
                f"The dose entered for {change.effective_date:%-d %b %Y} has no route, so it "
                "is left out of the dose history; record whether it was oral or intrathecal."
            )
            flags.append(_data_flag("dose_route_missing", message, change))
        elif not change.is_valid:
            expected = scales.ROUTE_UNITS[change.route]
            message = (
                f"The {change.route} dose entered for {change.effective_date:%-d %b %Y} is in "
                f"{change.unit or 'no unit'}, not {expected}, so it is left out of the dose "
                "history; re-enter it in the right unit."
            )
            flags.append(_data_flag("dose_unit_mismatch", message, change))
    return flags


def _data_flag(code: str, message: str, change: DoseChange) -> Flag:
    source = "issue #2: route required; oral in mg/day, intrathecal in mcg/day, never mL"
    return Flag(code, "caution", message, source, change.effective_date, dose_change=change)


def oral_max_flags(changes: Sequence[DoseChange]) -> list[Flag]:
    """Flag each oral dose above 80 mg/day (tablet label: maximum recommended 80 mg/day)."""
    limit = threshold_value("oral_max")
    return [
        dose_flag(
            "oral_above_max",
            "caution",
            f"Oral baclofen {_fmt(c.daily_dose)} mg/day from {c.effective_date:%-d %b %Y} is "
            f"above the label's maximum recommended dose of {limit} mg/day.",
            c,
            "oral_max",
        )
        for c in day_doses(changes, "oral")
        if c.daily_dose > limit
    ]


def oral_titration_flags(changes: Sequence[DoseChange]) -> list[Flag]:
    """Flag oral increases faster than the label's titration.

    Tablet label: steps of about +15 mg/day no sooner than every 3 days. Flagged when the dose
    rises more than 15 mg/day above the dose in force 3 days earlier, or an increase comes less
    than 3 days after the previous one (the first recorded dose counts as a step).
    """
    step, days = threshold_value("oral_step"), int(threshold_value("oral_step_days"))
    days_of_dose = day_doses(changes, "oral")
    flags, last_step = [], None
    for before, change in zip([None, *days_of_dose], days_of_dose, strict=False):
        if before is not None and change.daily_dose <= before.daily_dose:
            continue
        earlier = dose_in_force(days_of_dose, change.effective_date - timedelta(days=days))
        reasons = []
        if earlier is not None and change.daily_dose - earlier.daily_dose > step:
            reasons.append(
                f"{_fmt(change.daily_dose - earlier.daily_dose)} mg/day above the dose "
                f"{days} days earlier"
            )
        if last_step is not None and (change.effective_date - last_step).days < days:
            reasons.append(f"{(change.effective_date - last_step).days} days after the last step")
        last_step = change.effective_date
        if before is not None and reasons:
            flags.append(_titration_flag(change, before, reasons))
    return flags


def _titration_flag(change: DoseChange, before: DoseChange, reasons: list[str]) -> Flag:
    step, days = threshold_value("oral_step"), threshold_value("oral_step_days")
    message = (
        f"Oral baclofen rose from {_fmt(before.daily_dose)} to {_fmt(change.daily_dose)} mg/day "
        f"on {change.effective_date:%-d %b %Y} ({'; '.join(reasons)}): faster than the label's "
        f"titration of about +{step} mg/day no sooner than every {days} days."
    )
    return dose_flag(
        "oral_titration_fast", "caution", message, change, "oral_step", "oral_step_days"
    )


def intrathecal_step_flags(changes: Sequence[DoseChange], patient: PatientContext) -> list[Flag]:
    """Flag an intrathecal rise above 30% per 24 h (spinal origin) or 15% (cerebral origin).

    Lioresal Intrathecal label titration: +10-30% per 24 h spinal, +5-15% cerebral. When the
    origin is unknown (diagnosis "other") the stricter cerebral limit applies.
    """
    origin = scales.spasticity_origin(patient.diagnosis)
    key = "it_step_spinal" if origin == "spinal" else "it_step_cerebral"
    limit = threshold_value(key)
    days_of_dose = day_doses(changes, "intrathecal")
    flags = []
    for change in days_of_dose:
        day_before = dose_in_force(days_of_dose, change.effective_date - timedelta(days=1))
        if day_before is None or day_before.daily_dose <= 0:
            continue
        rise = change.daily_dose - day_before.daily_dose
        if rise * 100 > limit * day_before.daily_dose:
            # Rounded away from the limit so that a shown 30.0% never hides a real 30.04%.
            percent = (rise * 100 / day_before.daily_dose).quantize(Decimal("0.1"), ROUND_UP)
            who = f"{origin} origin" if origin else "origin not recorded, so the stricter limit"
            message = (
                f"Intrathecal baclofen rose {_fmt(percent)}% in 24 h, from "
                f"{_fmt(day_before.daily_dose)} to {_fmt(change.daily_dose)} mcg/day on "
                f"{change.effective_date:%-d %b %Y}; the label titrates by at most {limit}% "
                f"per 24 h ({who})."
            )
            flags.append(dose_flag("intrathecal_step_fast", "warning", message, change, key))
    return flags


def renal_flags(changes: Sequence[DoseChange], patient: PatientContext) -> list[Flag]:
    """Flag reduced kidney function while oral baclofen is prescribed.

    Baclofen is excreted mainly unchanged by the kidneys (tablet label: use caution, reduce dose;
    Vlavonou 2014). eGFR below 30 mL/min/1.73m2 or dialysis: avoid (AJKD 2017), a warning.
    eGFR below 60: caution (issue #4 section 4; this figure is not in CLINICAL.md).
    """
    oral = day_doses(changes, "oral")
    if not oral or oral[-1].daily_dose <= 0:
        return []
    avoid, caution = threshold_value("egfr_avoid"), threshold_value("egfr_caution")
    egfr = None if patient.egfr is None else Decimal(str(patient.egfr))
    if patient.on_dialysis or (egfr is not None and egfr < avoid):
        reason = "The patient is on dialysis" if patient.on_dialysis else f"eGFR is {egfr}"
        message = (
            f"{reason} and oral baclofen is prescribed: avoid oral baclofen when eGFR is "
            f"below {avoid} mL/min/1.73m2 or on dialysis, because it is cleared by the kidneys."
        )
        source = THRESHOLD_BY_KEY["egfr_avoid"].source
        return [Flag("renal_avoid", "warning", message, source, None, thresholds=("egfr_avoid",))]
    if egfr is not None and egfr < caution:
        message = (
            f"eGFR is {egfr} (below {caution} mL/min/1.73m2) and oral baclofen is prescribed: "
            "use caution and reduce the dose, because it is cleared by the kidneys "
            "(reductions of about 1/3 to 2/3 with worsening kidney disease, Vlavonou 2014)."
        )
        source = THRESHOLD_BY_KEY["egfr_caution"].source
        return [
            Flag("renal_caution", "caution", message, source, None, thresholds=("egfr_caution",))
        ]
    return []


def side_effect_flags(changes: Sequence[DoseChange], visits: Sequence[VisitRecord]) -> list[Flag]:
    """Flag side effects newly reported at a visit that follows a dose increase.

    New = reported now (any severity but "none") and not at the previous visit; linked to the
    latest increase effective after the previous visit and on or before this one. Adverse
    reactions as listed on the baclofen tablet label.
    """
    rises = increases(changes)  # ordered by the day of the rise
    rise_days = [after.effective_date for _, after in rises]
    flags = []
    for previous, visit in pairwise(visits):
        new = visit.side_effects_present() - previous.side_effects_present()
        # The latest rise on or before this visit, if it came after the previous visit.
        latest = bisect_right(rise_days, visit.visit_date) - 1
        if not new or latest < 0 or rise_days[latest] <= previous.visit_date:
            continue
        before, after = rises[latest]
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


def rater_flags(visits: Sequence[VisitRecord]) -> list[Flag]:
    """Flag a visit rated by someone other than the previous visit's or the baseline's rater.

    Inter-rater agreement of the MAS is weak (Baunsgaard 2016, SCI), so such changes in grade
    are less comparable. Visits are expected in (date, visit id) order; the first is baseline.
    """
    flags = []
    for index, visit in enumerate(visits[1:], start=1):
        compared = {"the previous visit": visits[index - 1]}
        if index > 1:
            compared["the baseline visit"] = visits[0]
        differ = [
            f"{name} ({other.visit_date:%-d %b %Y}) was rated by {other.rater}"
            for name, other in compared.items()
            if not same_rater(visit.rater, other.rater)
        ]
        if differ:
            message = (
                f"Rated by {visit.rater}, while {' and '.join(differ)}: Modified Ashworth "
                "grades from different raters are less comparable."
            )
            source = "Baunsgaard 2016 (inter-rater agreement of the MAS is weak)"
            flags.append(visit_flag("rater_changed", "info", message, source, visit))
    return flags


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def newest_first(flags: Iterable[Flag]) -> list[Flag]:
    """Order flags newest first; undated (current) flags lead, then warnings before cautions.

    Ties keep a fixed order (by code, then message), so the same input always reads the same.
    """
    by_name = sorted(flags, key=lambda f: (f.code, f.message))
    return sorted(
        by_name, key=lambda f: (f.on or date.max, _SEVERITY_RANK[f.severity]), reverse=True
    )


def safety_flags(
    changes: Sequence[DoseChange], patient: PatientContext, visits: Sequence[VisitRecord]
) -> list[Flag]:
    """Return every safety flag for a patient's dose history and visits, newest first."""
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
