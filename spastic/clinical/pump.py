"""Intrathecal pump arithmetic: the volume left, the low-reservoir alarm, empty and refill dates.

../shared/CLINICAL.md, "Intrathecal pump and refills": days to the low-reservoir alarm =
(volume after refill - alarm volume) x concentration / daily dose; days to empty = volume x
concentration / daily dose (mL x mcg/mL / mcg/day); a dose or concentration change restarts the
arithmetic from the volume estimated at that moment. Running empty is abrupt withdrawal, the
labels' boxed warning, so nothing here guesses a unit: volumes are mL, concentrations mcg/mL,
doses mcg/day, and a question the data cannot answer gets `None` or a `PumpProblem`.

Exact arithmetic: volumes are `Fraction`s of a mL, so the consumption split at a dose change
adds up to the consumption without it. Dates are whole days; a threshold crossed during a day
is dated that day (the earlier, safer reading). Pure: no app, no database.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from spastic.clinical.dosing import Threshold

_RESERVOIR = "Medtronic SynchroMed II; Neurosurgery 2004 (withdrawal vs residual volume)"
_GILLETTE = "Gillette Children's patient education (refill before the alarm date)"
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "pump_alarm_ml",
        Decimal(2),
        "mL",
        _RESERVOIR,
        "the alarm volume is per pump, default 2 mL, and 4 mL is a legitimate choice.",
    ),
    Threshold(
        "refill_margin_days",
        Decimal(7),
        "days",
        _GILLETTE,
        "make the margin a clinic setting, default 7 days.",
    ),
    Threshold(
        "refill_margin_high_risk_days",
        Decimal(10),
        "days",
        _GILLETTE,
        "(one page) and 7-10 days (another) before it; make the margin a clinic setting",
    ),
    Threshold(
        "residual_discrepancy_ml",
        Decimal(2),
        "mL",
        "ASRA 2017, Accuracy in intrathecal drug delivery",
        "device's accuracy or greater than 2 mL should be evaluated (ASRA 2017",
    ),
    Threshold(
        "residual_discrepancy_20ml_pump_ml",
        Decimal(1),
        "mL",
        "Maino 2017, Neuromodulation 20:733",
        "a measured discrepancy > 1 mL (20 mL pump) or > 2 mL (40 mL pump)",
    ),
    Threshold(
        "battery_warning_days",
        Decimal(90),
        "days",
        "Medtronic (elective replacement indicator)",
        "- Battery: the pump warns about 90 days before elective replacement (Medtronic)",
    ),
)
_T = {threshold.key: threshold.value for threshold in THRESHOLDS}
DEFAULT_ALARM_ML = _T["pump_alarm_ml"]
ALARM_CHOICES_ML = (Decimal(2), Decimal(4))  # 4 mL: none of the withdrawals recurred at 4 mL
LABEL_CONCENTRATIONS = (50, 500, 1000, 2000)  # mcg/mL; 1000 (Gablofen) is *unverified*


class PumpProblem(ValueError):
    """The data cannot answer the question safely; the message says why, for a clinician."""


@dataclass(frozen=True)
class Fill:
    """The reservoir as left at a refill: the volume in it and the drug's concentration."""

    on: date
    volume_ml: Decimal  # volume after the refill
    concentration_mcg_ml: Decimal


@dataclass(frozen=True)
class DoseStep:
    """A programmed intrathecal daily dose from a date on (mcg/day; 0 = stopped)."""

    effective_date: date
    mcg_per_day: Decimal


@dataclass(frozen=True)
class Forecast:
    """What a fill lasts at the programmed doses: the dates clinicians schedule by."""

    fill: Fill
    alarm_ml: Decimal
    volume_today_ml: Fraction  # never below 0
    alarm_date: date | None  # None: the dose in force is 0, the reservoir is not emptying
    empty_date: date | None
    refill_due: date | None  # alarm date minus the margin
    margin_days: int


def _check_fill(fill: Fill, alarm_ml: Decimal) -> None:
    if fill.concentration_mcg_ml <= 0:
        raise PumpProblem("The concentration must be a positive number of mcg/mL.")
    if fill.volume_ml < 0:
        raise PumpProblem("The volume in the reservoir cannot be negative.")
    if alarm_ml < 0:
        raise PumpProblem("The low-reservoir alarm volume cannot be negative.")


@dataclass(frozen=True)
class Segment:
    """A stretch of days at one programmed dose, for showing the arithmetic."""

    start: date
    mcg_per_day: Decimal
    ml_per_day: Fraction


def segments(fill: Fill, doses: Sequence[DoseStep]) -> list[Segment]:
    """The doses a fill runs at, from the fill on, each with the mL it uses a day.

    Raises PumpProblem when no intrathecal dose is in force at the fill: the arithmetic would
    otherwise have to guess how fast the reservoir empties.
    """
    ordered = sorted(doses, key=lambda d: d.effective_date)
    before = [d for d in ordered if d.effective_date <= fill.on]
    if not before:
        raise PumpProblem(
            "No intrathecal dose (mcg/day) is recorded on or before this refill, so the app "
            "cannot tell how long the reservoir lasts. Record the programmed dose first."
        )
    steps = [before[-1], *(d for d in ordered if d.effective_date > fill.on)]
    if any(d.mcg_per_day < 0 for d in steps):
        raise PumpProblem("A daily dose cannot be negative.")
    concentration = Fraction(fill.concentration_mcg_ml)
    return [
        Segment(
            max(d.effective_date, fill.on), d.mcg_per_day, Fraction(d.mcg_per_day) / concentration
        )
        for d in steps
    ]


def volume_on(fill: Fill, doses: Sequence[DoseStep], on: date) -> Fraction:
    """Estimate the mL left in the reservoir at the start of `on` (0 at the least)."""
    used = Fraction(0)
    stretches = segments(fill, doses)
    ends = [s.start for s in stretches[1:]] + [max(on, fill.on)]
    for stretch, end in zip(stretches, ends, strict=True):
        if stretch.start >= on:
            break
        used += stretch.ml_per_day * (min(end, on) - stretch.start).days
    return max(Fraction(fill.volume_ml) - used, Fraction(0))


def date_reaching(fill: Fill, doses: Sequence[DoseStep], volume_ml: Decimal) -> date | None:
    """The day the reservoir falls to `volume_ml` (None: at the doses programmed, it never does).

    A volume crossed part-way through a day is dated that day; one reached exactly at midnight
    is dated the day that begins (20 mL at 0.2 mL a day is empty on day 100, not 99).
    """
    remaining = Fraction(fill.volume_ml) - Fraction(volume_ml)
    if remaining <= 0:
        return fill.on
    stretches = segments(fill, doses)
    for index, stretch in enumerate(stretches):
        start, rate = stretch.start, stretch.ml_per_day
        end = stretches[index + 1].start if index + 1 < len(stretches) else None
        days = (end - start).days if end else None
        if rate > 0 and (days is None or rate * days >= remaining):
            return start + timedelta(days=math.floor(remaining / rate))
        if days is not None:
            remaining -= rate * days
    return None


def forecast(
    fill: Fill,
    doses: Sequence[DoseStep],
    today: date,
    *,
    alarm_ml: Decimal = DEFAULT_ALARM_ML,
    margin_days: int = int(_T["refill_margin_days"]),
) -> Forecast:
    """Volume today, the alarm, empty and refill-due dates of a fill at the programmed doses.

    Worked example (CLINICAL.md formulas): 20 mL of 2000 mcg/mL at 400 mcg/day uses 0.2 mL a
    day; empty after 20 / 0.2 = 100 days, the 2 mL alarm after (20 - 2) / 0.2 = 90 days.
    """
    _check_fill(fill, alarm_ml)
    alarm = date_reaching(fill, doses, alarm_ml)
    empty = date_reaching(fill, doses, Decimal(0))
    return Forecast(
        fill=fill,
        alarm_ml=alarm_ml,
        volume_today_ml=volume_on(fill, doses, today),
        alarm_date=alarm,
        empty_date=empty,
        refill_due=alarm - timedelta(days=margin_days) if alarm else None,
        margin_days=margin_days,
    )


def margin_for(high_risk: bool, clinic_margin_days: int | None = None) -> int:
    """Days before the alarm date to book the refill.

    The clinic's margin (default 7 days); for the label's higher-risk patients (injury at T6 or
    above, communication difficulty, prior withdrawal) at least the longer end of the 7-10 days
    CLINICAL.md quotes, since "these patients' refill margins deserve the longer end".
    """
    margin = int(_T["refill_margin_days"]) if clinic_margin_days is None else clinic_margin_days
    return max(margin, int(_T["refill_margin_high_risk_days"])) if high_risk else margin


@dataclass(frozen=True)
class ResidualCheck:
    """The volume drawn out at a refill against the residual the app expected."""

    expected_ml: Fraction
    drawn_ml: Decimal
    discrepancy_ml: Fraction  # drawn - expected: < 0 means less came out than expected
    beyond_limit: bool  # more than 2 mL either way (ASRA 2017), or beyond the device's accuracy


def residual_check(
    expected_ml: Fraction,
    drawn_ml: Decimal,
    device_accuracy_ml: Decimal | None = None,
    reservoir_ml: Decimal | None = None,
) -> ResidualCheck:
    """Compare the residual drawn out with the expected one (ASRA 2017: evaluate discrepancies
    beyond the device's accuracy or greater than 2 mL; Maino 2017: beyond 1 mL in a 20 mL pump,
    2 mL in a 40 mL pump). The device's accuracy is a per-pump figure from its labelling when
    recorded; the app assumes none. The tightest applicable limit decides.
    """
    discrepancy = Fraction(drawn_ml) - expected_ml
    limits = [Fraction(_T["residual_discrepancy_ml"])]
    if reservoir_ml is not None and reservoir_ml <= 20:
        limits.append(Fraction(_T["residual_discrepancy_20ml_pump_ml"]))
    if device_accuracy_ml is not None:
        limits.append(Fraction(device_accuracy_ml))
    return ResidualCheck(expected_ml, drawn_ml, discrepancy, abs(discrepancy) > min(limits))


def battery_warning(elective_replacement: date | None, today: date) -> bool:
    """True within 90 days of the elective replacement date (the pump's own warning window)."""
    if elective_replacement is None:
        return False
    return (elective_replacement - today).days <= int(_T["battery_warning_days"])
