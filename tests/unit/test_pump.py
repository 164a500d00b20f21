"""Intrathecal pump arithmetic: hand-checked tables and hypothesis properties (no app)."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spastic.clinical.pump import (
    DoseStep,
    Fill,
    PumpProblem,
    battery_warning,
    date_reaching,
    forecast,
    margin_for,
    residual_check,
    volume_on,
)

D0 = date(2026, 1, 1)


def fill(volume="20", concentration="2000", on=D0) -> Fill:
    return Fill(on, Decimal(volume), Decimal(concentration))


def dose(mcg, on=D0) -> DoseStep:
    return DoseStep(on, Decimal(mcg))


# Each row computed by hand: mL per day = dose / concentration; days = volume / (mL per day).
@pytest.mark.parametrize(
    ("volume", "concentration", "mcg", "alarm_ml", "alarm_day", "empty_day"),
    [
        # 20 mL x 2000 mcg/mL at 400 mcg/day: 0.2 mL/day; alarm (20-2)/0.2 = 90, empty 20/0.2 = 100
        ("20", "2000", "400", "2", 90, 100),
        # the 4 mL alarm: (20-4)/0.2 = 80 days
        ("20", "2000", "400", "4", 80, 100),
        # 40 mL x 500 mcg/mL at 300 mcg/day: 0.6 mL/day; (40-2)/0.6 = 63.33 -> day 63; 66.67 -> 66
        ("40", "500", "300", "2", 63, 66),
        # 20 mL x 50 mcg/mL at 100 mcg/day: 2 mL/day; (20-2)/2 = 9, 20/2 = 10
        ("20", "50", "100", "2", 9, 10),
        # 18.5 mL x 1000 mcg/mL at 250 mcg/day: 0.25 mL/day; 16.5/0.25 = 66, 18.5/0.25 = 74
        ("18.5", "1000", "250", "2", 66, 74),
    ],
)
def test_alarm_and_empty_dates_by_hand(volume, concentration, mcg, alarm_ml, alarm_day, empty_day):
    result = forecast(
        fill(volume, concentration), [dose(mcg)], D0, alarm_ml=Decimal(alarm_ml), margin_days=7
    )
    assert result.alarm_date == D0 + timedelta(days=alarm_day)
    assert result.empty_date == D0 + timedelta(days=empty_day)
    assert result.refill_due == D0 + timedelta(days=alarm_day - 7)


def test_volume_today_by_hand():
    # 0.2 mL/day for 30 days = 6 mL used: 14 mL left; before the fill it is the full fill.
    assert volume_on(fill(), [dose(400)], D0 + timedelta(days=30)) == 14
    assert volume_on(fill(), [dose(400)], D0) == 20
    assert volume_on(fill(), [dose(400)], D0 + timedelta(days=500)) == 0


def test_a_dose_change_restarts_the_arithmetic_from_the_volume_at_that_moment():
    # 400 mcg/day (0.2 mL) for 50 days = 10 mL, then 800 mcg/day (0.4 mL/day): 10 mL left on
    # day 50; the 2 mL alarm (8 mL more) 20 days later, day 70; empty 25 days later, day 75.
    doses = [dose(400), dose(800, D0 + timedelta(days=50))]
    result = forecast(fill(), doses, D0 + timedelta(days=60), margin_days=7)
    assert result.volume_today_ml == 6
    assert result.alarm_date == D0 + timedelta(days=70)
    assert result.empty_date == D0 + timedelta(days=75)


def test_the_dose_in_force_at_the_fill_is_the_latest_before_it():
    doses = [dose(100, D0 - timedelta(days=90)), dose(400, D0 - timedelta(days=3))]
    assert forecast(fill(), doses, D0).empty_date == D0 + timedelta(days=100)


def test_a_stopped_pump_never_alarms():
    result = forecast(fill(), [dose(400), dose(0, D0 + timedelta(days=10))], D0)
    assert result.alarm_date is None and result.empty_date is None and result.refill_due is None


@pytest.mark.parametrize(
    ("doses", "concentration", "message"),
    [
        ([], "2000", "No intrathecal dose"),
        ([dose(400, D0 + timedelta(days=1))], "2000", "No intrathecal dose"),
        ([dose(400)], "0", "concentration must be a positive"),
        ([dose("-5")], "2000", "cannot be negative"),
    ],
)
def test_questions_the_data_cannot_answer_are_refused_with_a_sentence(
    doses, concentration, message
):
    with pytest.raises(PumpProblem, match=message):
        forecast(fill(concentration=concentration), doses, D0)


@pytest.mark.parametrize(
    ("high_risk", "clinic", "expected"),
    [(False, None, 7), (True, None, 10), (False, 5, 5), (True, 5, 10), (True, 14, 14)],
)
def test_refill_margin(high_risk, clinic, expected):
    assert margin_for(high_risk, clinic) == expected


@pytest.mark.parametrize(
    ("expected", "drawn", "accuracy", "beyond"),
    [
        (Fraction(5), "7", None, False),  # exactly 2 mL: not beyond
        (Fraction(5), "7.1", None, True),
        (Fraction(5), "2", None, True),  # 3 mL less than expected (the demo's discrepancy)
        (Fraction(5), "6.5", "1", True),  # the device's own accuracy is tighter than 2 mL
        (Fraction(5), "6", "1", False),
    ],
)
def test_residual_discrepancy(expected, drawn, accuracy, beyond):
    accuracy = Decimal(accuracy) if accuracy else None
    check = residual_check(expected, Decimal(drawn), accuracy)
    assert check.beyond_limit is beyond
    assert check.discrepancy_ml == Fraction(Decimal(drawn)) - expected


@pytest.mark.parametrize(("days_left", "warns"), [(91, False), (90, True), (0, True), (-3, True)])
def test_battery_warning_window(days_left, warns):
    assert battery_warning(D0 + timedelta(days=days_left), D0) is warns
    assert battery_warning(None, D0) is False


VOLUMES = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(40), places=1)
CONCENTRATIONS = st.sampled_from([Decimal(c) for c in (50, 500, 1000, 2000)])
DOSES = st.decimals(min_value=Decimal(1), max_value=Decimal(1500), places=0)
DAYS = st.integers(min_value=0, max_value=400)


@given(VOLUMES, CONCENTRATIONS, DOSES, DOSES)
def test_a_higher_dose_never_moves_the_alarm_later(volume, concentration, low, extra):
    f = Fill(D0, volume, concentration)
    slower = date_reaching(f, [DoseStep(D0, low)], Decimal(0))
    faster = date_reaching(f, [DoseStep(D0, low + extra)], Decimal(0))
    assert faster <= slower


@given(VOLUMES, CONCENTRATIONS, DOSES, DAYS)
def test_the_estimate_is_never_negative_nor_above_the_fill(volume, concentration, mcg, days):
    left = volume_on(Fill(D0, volume, concentration), [DoseStep(D0, mcg)], D0 + timedelta(days))
    assert 0 <= left <= volume


@given(VOLUMES, CONCENTRATIONS, DOSES, DAYS, DAYS)
def test_a_dose_change_mid_interval_splits_the_consumption_exactly(
    volume, concentration, mcg, split, later
):
    f = Fill(D0, volume, concentration)
    on = D0 + timedelta(days=split + later)
    whole = volume_on(f, [DoseStep(D0, mcg)], on)
    split_in_two = volume_on(f, [DoseStep(D0, mcg), DoseStep(D0 + timedelta(split), mcg)], on)
    assert whole == split_in_two
    expected = max(Fraction(volume) - Fraction(mcg) / Fraction(concentration) * (split + later), 0)
    assert whole == expected


@given(VOLUMES, CONCENTRATIONS, DOSES)
def test_the_alarm_date_is_the_day_the_volume_falls_to_the_alarm(volume, concentration, mcg):
    f = Fill(D0, volume + 2, concentration)
    alarm = date_reaching(f, [DoseStep(D0, mcg)], Decimal(2))
    assert volume_on(f, [DoseStep(D0, mcg)], alarm) >= 2 or alarm == D0
    assert volume_on(f, [DoseStep(D0, mcg)], alarm + timedelta(days=1)) <= 2
