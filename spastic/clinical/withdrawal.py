"""Withdrawal flags: a dose that stops too fast, or a visit that records the drug stopped.

Baclofen labels (../shared/CLINICAL.md): abrupt withdrawal can cause hallucinations and seizures
and, more rarely, death; reduce slowly over about 1-2 weeks. Pure: no app, no database.
"""

from collections.abc import Sequence
from datetime import date

from spastic.clinical import scales
from spastic.clinical.dosing import THRESHOLD_BY_KEY, DoseChange, Flag, day_doses, dose_in_force
from spastic.clinical.flagging import dose_flag, threshold_value, visit_flag
from spastic.clinical.records import PatientContext, VisitRecord

# Signs of abrupt withdrawal, from the baclofen labels (CLINICAL.md).
WITHDRAWAL_SIGNS = (
    "hallucinations, seizures, high fever, altered mental status, rebound spasticity, "
    "rigidity, rhabdomyolysis, multi-organ failure and death"
)


def abrupt_stop_flags(changes: Sequence[DoseChange], patient: PatientContext) -> list[Flag]:
    """Flag a dose that reaches zero less than 7 days after the reduction began.

    The reduction begins at the first cut from the previous steady dose (the run of consecutive
    cuts ending at zero). Labels: reduce slowly, about 1-2 weeks; a 7+ day taper is not flagged.
    """
    taper = int(threshold_value("taper_days"))
    flags = []
    for route in scales.ROUTES:
        days_of_dose = day_doses(changes, route)
        for index, change in enumerate(days_of_dose):
            if index == 0 or change.daily_dose != 0 or days_of_dose[index - 1].daily_dose == 0:
                continue
            first_cut = index
            while first_cut > 1 and (
                days_of_dose[first_cut - 1].daily_dose < days_of_dose[first_cut - 2].daily_dose
            ):
                first_cut -= 1
            began = days_of_dose[first_cut].effective_date
            if (change.effective_date - began).days < taper:
                flags.append(_abrupt_flag(change, began, patient))
    return flags


def _abrupt_flag(change: DoseChange, began: date, patient: PatientContext) -> Flag:
    elapsed = (change.effective_date - began).days
    how = "in one step" if elapsed == 0 else f"{elapsed} days after the reduction began"
    message = (
        f"{scales.ROUTES[change.route or '']} baclofen reached zero on "
        f"{change.effective_date:%-d %b %Y}, {how}. The labels advise reducing slowly over "
        f"about 1-2 weeks. Watch for withdrawal: {WITHDRAWAL_SIGNS}."
        + _high_risk_note(patient, change.route)
    )
    return dose_flag("abrupt_stop", "warning", message, change, "taper_days")


def _high_risk_note(patient: PatientContext, route: str | None) -> str:
    """Lioresal Intrathecal label: higher withdrawal risk with injury at T6 or above."""
    if route == "oral" or not patient.sci_level:
        return ""
    if scales.level_at_or_above_t6(patient.sci_level):
        return f" Injury at {patient.sci_level} (T6 or above) raises the withdrawal risk."
    return ""


def reported_stop_flags(
    changes: Sequence[DoseChange], visits: Sequence[VisitRecord], patient: PatientContext
) -> list[Flag]:
    """Flag a visit recording the drug as stopped while a dose above zero is in force.

    Labels: abrupt withdrawal is dangerous; a stop the regimen already shows (dose 0 in force
    on every route) was planned and is judged by `abrupt_stop_flags` instead.
    """
    valid = [c for c in changes if c.is_valid]
    flags = []
    for visit in visits:
        if visit.adherence != "stopped":
            continue
        in_force = [dose_in_force(valid, visit.visit_date, route) for route in scales.ROUTES]
        known = [c for c in in_force if c is not None]
        if known and all(c.daily_dose == 0 for c in known):
            continue
        regimen = "while the regimen shows it still prescribed" if known else "abruptly"
        message = (
            f"The visit of {visit.visit_date:%-d %b %Y} records that baclofen was stopped "
            f"{regimen}. The labels advise reducing slowly over about 1-2 weeks. "
            f"Watch for withdrawal: {WITHDRAWAL_SIGNS}."
        )
        routes = {c.route for c in known if c.daily_dose > 0}
        message += _high_risk_note(patient, "intrathecal" if routes != {"oral"} else "oral")
        source = THRESHOLD_BY_KEY["taper_days"].source
        flags.append(
            visit_flag("reported_stop", "warning", message, source, visit, None, "taper_days")
        )
    return flags
