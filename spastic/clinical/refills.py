"""A pump's state and flags from its refills: the dates to act on, and what deserves a look.

Rules (../shared/CLINICAL.md, "Intrathecal pump and refills"): refill before the low-reservoir
alarm date with a margin (default 7 days; the longer end for higher-risk patients); a refill
past its due date is a warning, past the alarm date urgent (running empty is abrupt withdrawal,
the boxed warning); a booked visit after the alarm date is a warning (Medtronic advises not
relying on the pump alarm alone); a residual discrepancy beyond 2 mL or the device's accuracy
should be evaluated (ASRA 2017); a concentration change at a refill needs the programmed dose
reviewed the same day (the dose is mcg/day, the pump delivers mL: never infer one from the other);
the elective replacement indicator comes about 90 days before replacement (Medtronic).
Pure: no app, no database.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from spastic.clinical import pump
from spastic.clinical.dosing import Flag
from spastic.clinical.pump import DoseStep, Fill, Forecast, PumpProblem

_REFILL_SOURCE = "Lioresal Intrathecal label (boxed warning); CLINICAL.md refill scheduling"
_ASRA = "ASRA 2017, Accuracy in intrathecal drug delivery; Maino 2017, Neuromodulation 20:733"
_MEDTRONIC = "Medtronic (elective replacement indicator)"


@dataclass(frozen=True)
class RefillFacts:
    """One refill as recorded (the first is the fill at implant: nothing drawn out)."""

    refill_id: int
    fill: Fill
    residual_drawn_ml: Decimal | None
    first_fill: bool = False


@dataclass(frozen=True)
class PumpFacts:
    """A pump and what the clinic booked for it."""

    reservoir_ml: Decimal
    alarm_ml: Decimal
    elective_replacement: date | None
    accuracy_percent: Decimal | None
    refills: tuple[RefillFacts, ...]  # oldest first


@dataclass(frozen=True)
class PumpState:
    """Everything the pages show of a pump: the forecast of its last fill and its flags."""

    forecast: Forecast | None
    problem: str | None  # why there is no forecast, in a clinician's words
    residuals: dict[int, pump.ResidualCheck]  # refill id -> check against the expected residual
    flags: tuple[Flag, ...]


def expected_residual(
    previous: RefillFacts, doses: Sequence[DoseStep], on: date
) -> Fraction | None:
    """The volume the app expects to draw out on `on`, from the previous fill (None: unknown)."""
    try:
        return pump.volume_on(previous.fill, doses, on)
    except PumpProblem:
        return None


def residual_checks(facts: PumpFacts, doses: Sequence[DoseStep]) -> dict[int, pump.ResidualCheck]:
    """Each refill's drawn residual against the expected one (refills with both known)."""
    checks = {}
    for previous, refill in zip(facts.refills, facts.refills[1:], strict=False):
        expected = expected_residual(previous, doses, refill.fill.on)
        if expected is None or refill.residual_drawn_ml is None:
            continue
        delivered = Fraction(previous.fill.volume_ml) - expected
        accuracy = (
            Decimal(delivered.numerator)
            / Decimal(delivered.denominator)
            * facts.accuracy_percent
            / 100
            if facts.accuracy_percent is not None
            else None
        )
        checks[refill.refill_id] = pump.residual_check(
            expected, refill.residual_drawn_ml, accuracy, facts.reservoir_ml
        )
    return checks


def pump_state(
    facts: PumpFacts,
    doses: Sequence[DoseStep],
    today: date,
    *,
    margin_days: int,
    booked: date | None = None,
    dose_change_days: frozenset[date] = frozenset(),
) -> PumpState:
    """The forecast of the last fill and every pump flag, newest concerns first.

    `booked` is the next booked date that will see the pump (a refill or a review);
    `dose_change_days` the days an intrathecal dose change was recorded (a dose review).
    """
    residuals = residual_checks(facts, doses)
    flags = [*_residual_flags(facts, residuals), *_concentration_flags(facts, dose_change_days)]
    flags += _battery_flags(facts, today)
    if not facts.refills:
        problem = "No fill is recorded for this pump yet: record the fill at implant."
        return PumpState(None, problem, residuals, tuple(flags))
    try:
        forecast = pump.forecast(
            facts.refills[-1].fill, doses, today, alarm_ml=facts.alarm_ml, margin_days=margin_days
        )
    except PumpProblem as error:
        return PumpState(None, str(error), residuals, (_cannot_compute(str(error)), *flags))
    flags = [*_schedule_flags(forecast, today, booked), *flags]
    return PumpState(forecast, None, residuals, tuple(flags))


def _day(when: date) -> str:
    """1 Dec 2026, as every page prints a date."""
    return f"{when.day} {when:%b %Y}"


def _cannot_compute(reason: str) -> Flag:
    message = f"The refill dates cannot be computed. {reason}"
    return Flag("pump_unknown", "warning", message, _REFILL_SOURCE, None)


def _schedule_flags(forecast: Forecast, today: date, booked: date | None) -> list[Flag]:
    alarm, due = forecast.alarm_date, forecast.refill_due
    if alarm is None or due is None:
        return []
    flags = []
    if today > alarm or (forecast.empty_date is not None and today >= forecast.empty_date):
        message = (
            f"Refill overdue: the low-reservoir alarm date ({_day(alarm)}) has passed. The "
            f"pump may be empty or near empty ({_day(forecast.empty_date)} estimated); "
            "running empty means abrupt withdrawal. Refill today."
        )
        flags.append(Flag("refill_overdue_alarm", "urgent", message, _REFILL_SOURCE, alarm))
    elif today > due:
        message = (
            f"Refill overdue: it was due on {_day(due)}, {forecast.margin_days} days before "
            f"the low-reservoir alarm date ({_day(alarm)})."
        )
        flags.append(Flag("refill_overdue", "warning", message, _REFILL_SOURCE, due))
    elif (due - today).days <= forecast.margin_days:
        message = (
            f"Refill due {_day(due)} (in {(due - today).days} days), before the low-reservoir "
            f"alarm date {_day(alarm)}."
        )
        flags.append(Flag("refill_due", "caution", message, _REFILL_SOURCE, due))
    if booked is not None and booked > alarm:
        message = (
            f"The next booked date ({_day(booked)}) is after the low-reservoir alarm date "
            f"({_day(alarm)}). Do not rely on the pump alarm alone: book the refill by "
            f"{_day(due)}."
        )
        flags.append(Flag("booked_after_alarm", "warning", message, _REFILL_SOURCE, booked))
    return flags


def _residual_flags(facts: PumpFacts, residuals: dict[int, pump.ResidualCheck]) -> list[Flag]:
    """The last refill's discrepancy is open; earlier ones stay marked in the refill history."""
    flags = []
    for refill in facts.refills[-1:]:
        check = residuals.get(refill.refill_id)
        if check is None or not check.beyond_limit:
            continue
        size = abs(float(check.discrepancy_ml))
        way = "less" if check.discrepancy_ml < 0 else "more"
        message = (
            f"At the refill of {_day(refill.fill.on)}, {size:.1f} mL {way} was drawn out "
            f"than expected ({float(check.expected_ml):.1f} mL expected, "
            f"{check.drawn_ml.normalize():f} mL drawn). Discrepancies beyond 2 mL (1 mL in a "
            "20 mL pump) or the device's accuracy should be evaluated (pump or catheter problem, "
            "or a pocket fill and overdose risk)."
        )
        flags.append(Flag("residual_discrepancy", "warning", message, _ASRA, refill.fill.on))
    return flags


def _concentration_flags(facts: PumpFacts, dose_change_days: frozenset[date]) -> list[Flag]:
    """Open while the fill with the new concentration is in the pump."""
    flags = []
    for previous, refill in zip(facts.refills[-2:-1], facts.refills[-1:], strict=False):
        old, new = previous.fill.concentration_mcg_ml, refill.fill.concentration_mcg_ml
        if old == new or refill.fill.on in dose_change_days:
            continue
        message = (
            f"The concentration changed at the refill of {_day(refill.fill.on)} "
            f"({old.normalize():f} to {new.normalize():f} mcg/mL) with no dose review recorded "
            "that day. Check that the programmed daily dose (mcg/day) is still the one intended."
        )
        flags.append(
            Flag("concentration_change", "caution", message, _REFILL_SOURCE, refill.fill.on)
        )
    return flags


def _battery_flags(facts: PumpFacts, today: date) -> list[Flag]:
    if not pump.battery_warning(facts.elective_replacement, today):
        return []
    when = facts.elective_replacement
    message = (
        f"Elective replacement due {_day(when)}: the pump warns about 90 days before; plan "
        "the replacement."
    )
    return [Flag("pump_replacement", "caution", message, _MEDTRONIC, when)]
