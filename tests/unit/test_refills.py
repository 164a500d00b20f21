"""Pump flags and state from refills: each rule just inside and just outside (no app)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from spastic.clinical.pump import DoseStep, Fill
from spastic.clinical.refills import PumpFacts, RefillFacts, pump_state

D0 = date(2026, 1, 1)
# 20 mL of 2000 mcg/mL at 400 mcg/day: alarm (2 mL) on day 90, empty day 100, due day 83.
DOSES = (DoseStep(D0, Decimal(400)),)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def facts(*refills: RefillFacts, replacement=None, accuracy=None) -> PumpFacts:
    return PumpFacts(Decimal(20), Decimal(2), replacement, accuracy, tuple(refills))


def refill(n, on, volume="20", concentration="2000", drawn=None, first=False) -> RefillFacts:
    fill = Fill(on, Decimal(volume), Decimal(concentration))
    return RefillFacts(n, fill, None if drawn is None else Decimal(drawn), first)


FIRST = refill(1, D0, first=True)


def codes(state) -> dict[str, str]:
    return {f.code: f.severity for f in state.flags}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (day(75), {}),  # due day 83, 8 days away: outside the 7-day margin
        (day(76), {"refill_due": "caution"}),  # 7 days before it
        (day(83), {"refill_due": "caution"}),  # the due day itself
        (day(84), {"refill_overdue": "warning"}),
        (day(90), {"refill_overdue": "warning"}),  # the alarm day: not yet past it
        (day(91), {"refill_overdue_alarm": "urgent"}),
    ],
)
def test_refill_due_and_overdue(today, expected):
    state = pump_state(facts(FIRST), DOSES, today, margin_days=7)
    assert codes(state) == expected
    assert state.forecast.alarm_date == day(90) and state.forecast.refill_due == day(83)


@pytest.mark.parametrize(("booked", "flagged"), [(day(90), False), (day(91), True), (None, False)])
def test_booked_after_the_alarm_date(booked, flagged):
    state = pump_state(facts(FIRST), DOSES, day(10), margin_days=7, booked=booked)
    assert ("booked_after_alarm" in codes(state)) is flagged


@pytest.mark.parametrize(
    ("reservoir", "drawn", "accuracy", "flagged"),
    [
        # 60 days at 0.2 mL/day from 20 mL: 8 mL expected at the refill on day 60.
        # A 20 mL pump: beyond 1 mL (Maino 2017).
        ("20", "8", None, False),
        ("20", "9", None, False),  # exactly 1 mL more: not beyond
        ("20", "9.1", None, True),
        ("20", "5", None, True),  # 3 mL short
        # A 40 mL pump: beyond 2 mL (ASRA 2017, Maino 2017).
        ("40", "10", None, False),
        ("40", "10.1", None, True),
        # 12 mL delivered; a 10% device accuracy is 1.2 mL, tighter than 2 mL
        ("40", "9.3", Decimal(10), True),
        ("40", "9.1", Decimal(10), False),
    ],
)
def test_residual_discrepancy_at_a_refill(reservoir, drawn, accuracy, flagged):
    second = refill(2, day(60), drawn=drawn)
    pump_facts = PumpFacts(Decimal(reservoir), Decimal(2), None, accuracy, (FIRST, second))
    state = pump_state(pump_facts, DOSES, day(61), margin_days=7)
    assert ("residual_discrepancy" in codes(state)) is flagged
    assert state.residuals[2].expected_ml == 8


def test_a_zero_alarm_is_urgent_on_the_empty_day():
    zero = PumpFacts(Decimal(20), Decimal(0), None, None, (FIRST,))
    state = pump_state(zero, DOSES, day(100), margin_days=7)  # empty on day 100
    assert codes(state) == {"refill_overdue_alarm": "urgent"}


def test_the_new_fill_restarts_the_forecast():
    second = refill(2, day(60), volume="18", drawn="8")
    state = pump_state(facts(FIRST, second), DOSES, day(61), margin_days=7)
    # 18 mL at 0.2 mL/day from day 60: alarm after 80 days (day 140), empty after 90 (day 150)
    assert state.forecast.alarm_date == day(140) and state.forecast.empty_date == day(150)
    assert state.forecast.volume_today_ml == Decimal("17.8")


@pytest.mark.parametrize(
    ("concentration", "reviewed", "flagged"),
    [("2000", False, False), ("1000", True, False), ("1000", False, True)],
)
def test_concentration_change_needs_a_dose_review_that_day(concentration, reviewed, flagged):
    second = refill(2, day(60), concentration=concentration, drawn="8")
    days = frozenset({day(60)}) if reviewed else frozenset()
    state = pump_state(facts(FIRST, second), DOSES, day(61), margin_days=7, dose_change_days=days)
    assert ("concentration_change" in codes(state)) is flagged


@pytest.mark.parametrize(("days_left", "flagged"), [(91, False), (90, True)])
def test_elective_replacement_within_90_days(days_left, flagged):
    state = pump_state(facts(FIRST, replacement=day(10 + days_left)), DOSES, day(10), margin_days=7)
    assert ("pump_replacement" in codes(state)) is flagged


def test_no_dose_in_force_is_a_warning_with_a_reason():
    state = pump_state(facts(FIRST), (), day(1), margin_days=7)
    assert state.forecast is None
    assert "No intrathecal dose" in state.problem
    assert codes(state) == {"pump_unknown": "warning"}


def test_a_pump_with_no_fill_says_so():
    state = pump_state(facts(), DOSES, day(1), margin_days=7)
    assert state.forecast is None and "No fill is recorded" in state.problem


def test_only_the_fill_in_the_pump_keeps_its_flags_open():
    second = refill(2, day(60), concentration="1000", drawn="5")  # 3 mL short, new concentration
    # 400 mcg/day at 1000 mcg/mL is 0.4 mL a day: 40 days later 4 mL are expected
    third = refill(3, day(100), concentration="1000", drawn="4")
    state = pump_state(facts(FIRST, second, third), DOSES, day(101), margin_days=7)
    assert "residual_discrepancy" not in codes(state)
    assert "concentration_change" not in codes(state)
    assert state.residuals[2].beyond_limit  # still shown in the refill history
