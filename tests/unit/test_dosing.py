"""Dose in force, entry checks and every safety flag, each just inside and just outside its limit.

Expected values are worked out by hand from CLINICAL.md and issue #4 section 4.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from spastic.clinical.dosing import (
    THRESHOLD_BY_KEY,
    DoseChange,
    Flag,
    check_dose_entry,
    day_doses,
    dose_in_force,
    format_dose,
    increases,
    regimen_on,
)
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.safety import (
    intrathecal_step_flags,
    legacy_row_flags,
    newest_first,
    oral_max_flags,
    oral_titration_flags,
    rater_flags,
    renal_flags,
    safety_flags,
    side_effect_flags,
)
from spastic.clinical.withdrawal import abrupt_stop_flags, reported_stop_flags

D0 = date(2024, 3, 1)
STROKE = PatientContext("stroke")
SCI_C5 = PatientContext("sci", sci_level="C5")


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def oral(n: int, dose: str | int, sequence: int = 0) -> DoseChange:
    return DoseChange(day(n), "oral", Decimal(dose), "mg/day", sequence, stopped=dose == 0)


def it(n: int, dose: str | int, sequence: int = 0) -> DoseChange:
    return DoseChange(day(n), "intrathecal", Decimal(dose), "mcg/day", sequence, dose == 0)


def visit(visit_id: int, n: int, rater: str = "Ana", **fields) -> VisitRecord:
    return VisitRecord(visit_id, day(n), rater, **fields)


def codes(flags: list[Flag]) -> list[str]:
    return [flag.code for flag in flags]


# --- dose in force -------------------------------------------------------------------------

HISTORY = [oral(0, 15), oral(3, 30), oral(3, 25, sequence=2), oral(3, 20, sequence=1), it(5, 100)]


@pytest.mark.parametrize(
    ("on", "route", "expected"),
    [
        (day(-1), None, None),  # before the first change
        (day(0), None, oral(0, 15)),  # a change on the day itself is in force
        (day(2), "oral", oral(0, 15)),
        (day(3), "oral", oral(3, 25, sequence=2)),  # same day: highest sequence wins
        (day(4), None, oral(3, 25, sequence=2)),
        (day(5), None, it(5, 100)),  # any route: the latest change
        (day(5), "oral", oral(3, 25, sequence=2)),  # route filter keeps series apart
        (day(4), "intrathecal", None),
    ],
)
def test_dose_in_force(on, route, expected):
    assert dose_in_force(HISTORY, on, route) == expected


def test_same_day_same_sequence_the_later_entry_wins():
    first, second = oral(1, 10), oral(1, 20)
    assert dose_in_force([first, second], day(1)) == second
    assert day_doses([first, second], "oral") == [second]


def test_regimen_on_keeps_routes_apart_and_ignores_invalid_rows():
    history = [oral(0, 30), it(2, 100), DoseChange(day(3), "oral", Decimal(5), "mL/day")]
    assert regimen_on(history, day(1)) == {"oral": oral(0, 30)}
    assert regimen_on(history, day(4)) == {"oral": oral(0, 30), "intrathecal": it(2, 100)}


def test_increases_ignore_the_first_recorded_dose_and_decreases():
    history = [oral(0, 30), oral(4, 20), oral(8, 40), it(1, 100), it(2, 120)]
    assert increases(history) == [(it(1, 100), it(2, 120)), (oral(4, 20), oral(8, 40))]


def test_format_dose():
    assert format_dose(Decimal("20.0")) == "20"
    assert format_dose(Decimal("2.50")) == "2.5"
    assert format_dose(Decimal("100")) == "100"


# --- entry checks (issue #2 plausibility limits) ----------------------------------------------

TODAY = date(2024, 6, 10)


@pytest.mark.parametrize(
    ("route", "dose", "unit", "when", "stopping", "fields"),
    [
        ("oral", "30", "mg/day", TODAY, False, set()),
        ("intrathecal", "250", "mcg/day", TODAY, False, set()),
        ("oral", "300", "mg/day", TODAY, False, set()),  # at the limit: accepted
        ("oral", "300.5", "mg/day", TODAY, False, {"daily_dose"}),
        ("intrathecal", "2000", "mcg/day", TODAY, False, set()),
        ("intrathecal", "2001", "mcg/day", TODAY, False, {"daily_dose"}),
        ("oral", "0", "mg/day", TODAY, False, {"daily_dose"}),
        ("oral", "-5", "mg/day", TODAY, False, {"daily_dose"}),
        ("oral", "0", "mg/day", TODAY, True, set()),  # a stop is 0
        ("oral", "10", "mg/day", TODAY, True, {"daily_dose"}),
        (None, "30", "mg/day", TODAY, False, {"route"}),
        ("iv", "30", "mg/day", TODAY, False, {"route"}),
        ("oral", "30", "mcg/day", TODAY, False, {"unit"}),
        ("intrathecal", "250", "mg/day", TODAY, False, {"unit"}),
        ("oral", "30", None, TODAY, False, {"unit"}),
        ("oral", "30", "mg/day", TODAY + timedelta(days=7), False, set()),
        ("oral", "30", "mg/day", TODAY + timedelta(days=8), False, {"effective_date"}),
        ("oral", "30", "mg/day", None, False, {"effective_date"}),
        ("oral", None, "mg/day", TODAY, False, {"daily_dose"}),
        ("oral", "NaN", "mg/day", TODAY, False, {"daily_dose"}),
        (None, None, None, None, False, {"route", "daily_dose", "unit", "effective_date"}),
    ],
)
def test_check_dose_entry(route, dose, unit, when, stopping, fields):
    amount = None if dose is None else Decimal(dose)
    errors = check_dose_entry(route, amount, unit, when, TODAY, stopping=stopping)
    assert set(errors) == fields
    assert all(message.endswith(".") for message in errors.values())


@pytest.mark.parametrize("unit", ["mL/day", "ml", "ML per day", "mL"])
@pytest.mark.parametrize("route", ["oral", "intrathecal", None])
def test_volumes_are_refused_with_the_reason(route, unit):
    errors = check_dose_entry(route, Decimal(10), unit, TODAY, TODAY)
    assert "not in mL" in errors["unit"]
    assert "Ozobax 1 mg/mL, Fleqsuvy 5 mg/mL" in errors["unit"]


def test_implausible_dose_message_names_the_limit():
    errors = check_dose_entry("oral", Decimal(400), "mg/day", TODAY, TODAY)
    assert "above 300 mg/day" in errors["daily_dose"]


# --- oral above 80 mg/day (tablet label) --------------------------------------------------------


@pytest.mark.parametrize(("dose", "flagged"), [("80", False), ("80.5", True), ("120", True)])
def test_oral_above_label_maximum(dose, flagged):
    flags = oral_max_flags([oral(0, dose)])
    assert codes(flags) == (["oral_above_max"] if flagged else [])
    if flagged:
        assert flags[0].severity == "caution"
        assert flags[0].thresholds == ("oral_max",)
        assert "80 mg/day" in flags[0].message


def test_oral_maximum_ignores_intrathecal_mcg():
    assert oral_max_flags([it(0, 500)]) == []


# --- oral titration: +15 mg/day no sooner than every 3 days ---------------------------------


@pytest.mark.parametrize(
    ("history", "flagged_days"),
    [
        # The label's own schedule: 15 -> 30 -> 45 -> 60, every 3 days, +15 each: never flagged.
        ([oral(0, 15), oral(3, 30), oral(6, 45), oral(9, 60)], []),
        # +15.5 over 3 days: 30.5 - 15 = 15.5 > 15.
        ([oral(0, 15), oral(3, "30.5")], [3]),
        # Step after 2 days (< 3) even though only +5.
        ([oral(0, 15), oral(2, 20)], [2]),
        # Two small steps: day 3 is fine (+5 after 3 days); day 5 is 2 days after day 3, and
        # the dose 3 days earlier (day 2) was 15, so 35 - 15 = 20 > 15 as well.
        ([oral(0, 15), oral(3, 20), oral(5, 35)], [5]),
        # Decreases are never titration: 60 -> 45 after 1 day.
        ([oral(0, 60), oral(1, 45)], []),
        # Restart on day 8 after a stop on day 7: the dose 3 days earlier (day 5) was 30, and
        # the last step up was day 0 (the stop is not a step up), so neither rule applies.
        ([oral(0, 30), oral(7, 0), oral(8, 15)], []),
        # Restart from 0 straight to 20: 20 - dose 3 days earlier (day 7: 0) = 20 > 15.
        ([oral(0, 30), oral(7, 0), oral(10, 20)], [10]),
    ],
)
def test_oral_titration(history, flagged_days):
    flags = oral_titration_flags(history)
    assert [flag.on for flag in flags] == [day(n) for n in flagged_days]
    assert all(f.thresholds == ("oral_step", "oral_step_days") for f in flags)


def test_oral_titration_first_recorded_dose_is_not_judged_but_starts_the_clock():
    # 60 mg/day as the first record is an existing regimen, not a jump from zero; a step one
    # day later is still faster than every 3 days.
    assert oral_titration_flags([oral(0, 60)]) == []
    assert [f.on for f in oral_titration_flags([oral(0, 60), oral(1, 65)])] == [day(1)]


def test_oral_titration_judges_the_dose_a_day_ended_with():
    # 15 on day 0; on day 3 a typo of 50 corrected to 30 the same day: only 30 counts.
    assert oral_titration_flags([oral(0, 15), oral(3, 50, 1), oral(3, 30, 2)]) == []


# --- abrupt reduction or stop: zero less than 7 days after the first cut --------------------


@pytest.mark.parametrize(
    ("history", "flagged_days"),
    [
        ([oral(0, 60), oral(20, 0)], [20]),  # stop in one step
        ([oral(0, 60), oral(10, 30), oral(16, 0)], [16]),  # first cut day 10, zero day 16: 6
        ([oral(0, 60), oral(10, 30), oral(17, 0)], []),  # 7 days: a taper, not flagged
        ([oral(0, 60), oral(10, 40), oral(13, 20), oral(16, 0)], [16]),  # 6 days in 3 cuts
        ([oral(0, 60), oral(10, 40), oral(14, 20), oral(18, 0)], []),  # 8 days
        ([oral(0, 0)], []),  # a first record of 0 stops nothing known
        ([oral(0, 30), oral(5, 0), oral(9, 0)], [5]),  # a second zero is not a second stop
        ([it(0, 400), it(3, 200), it(9, 0)], [9]),  # intrathecal alike: 6 days
        ([it(0, 400), it(3, 200), it(10, 0)], []),
    ],
)
def test_abrupt_stop(history, flagged_days):
    flags = abrupt_stop_flags(history, STROKE)
    assert [flag.on for flag in flags] == [day(n) for n in flagged_days]
    for flag in flags:
        assert flag.severity == "warning"
        assert flag.thresholds == ("taper_days",)
        for sign in ("hallucinations", "seizures", "high fever", "rhabdomyolysis", "death"):
            assert sign in flag.message


def test_an_increase_restarts_the_reduction():
    # 60 -> 40 on day 0, back up to 60 on day 10, cut to 30 on day 20, zero on day 24:
    # the reduction began on day 20 (after the increase), 4 days before zero.
    history = [oral(-10, 60), oral(0, 40), oral(10, 60), oral(20, 30), oral(24, 0)]
    assert [f.on for f in abrupt_stop_flags(history, STROKE)] == [day(24)]


def test_a_reaffirmed_dose_is_the_steady_dose_the_reduction_starts_from():
    # 60 -> 30 on day 0, 30 re-entered on day 10 (schedule change), zero on day 12:
    # the steady dose is 30 and the reduction began on day 12: flagged.
    history = [oral(-10, 60), oral(0, 30), oral(10, 30), oral(12, 0)]
    assert [f.on for f in abrupt_stop_flags(history, STROKE)] == [day(12)]


@pytest.mark.parametrize(
    ("patient", "route_history", "warned"),
    [
        (SCI_C5, [it(0, 400), it(1, 0)], True),
        (PatientContext("sci", sci_level="T6"), [it(0, 400), it(1, 0)], True),
        (PatientContext("sci", sci_level="T7"), [it(0, 400), it(1, 0)], False),
        (SCI_C5, [oral(0, 40), oral(1, 0)], False),  # the T6 risk is on the intrathecal label
    ],
)
def test_withdrawal_risk_note_for_injury_at_t6_or_above(patient, route_history, warned):
    [flag] = abrupt_stop_flags(route_history, patient)
    assert ("T6 or above" in flag.message) is warned


@pytest.mark.parametrize(
    ("history", "flagged"),
    [
        ([oral(0, 30)], True),  # regimen says 30 mg/day, patient stopped
        ([], True),  # no regimen recorded at all
        ([oral(0, 30), oral(5, 20), oral(12, 0)], False),  # the stop was planned and recorded
        ([oral(0, 30), oral(12, 0), it(12, 100)], True),  # intrathecal still in force
    ],
)
def test_visit_reporting_the_drug_stopped(history, flagged):
    visits = [visit(1, 14, adherence="stopped"), visit(2, 15, adherence="as_prescribed")]
    flags = reported_stop_flags(history, visits, STROKE)
    assert codes(flags) == (["reported_stop"] if flagged else [])
    if flagged:
        assert flags[0].related_visit_id == 1
        assert flags[0].severity == "warning"
        assert "seizures" in flags[0].message


# --- intrathecal titration per 24 h: 30% spinal, 15% cerebral -------------------------------


@pytest.mark.parametrize(
    ("diagnosis", "new_dose", "flagged"),
    [
        ("sci", 130, False),  # (130 - 100) / 100 = 30%: at the limit
        ("sci", 131, True),  # 31%
        ("ms", 131, True),
        ("stroke", 115, False),  # 15%
        ("stroke", 116, True),  # 16%
        ("cp", 116, True),
        ("tbi", 115, False),
        ("other", 116, True),  # unknown origin: the stricter 15%
        ("other", 115, False),
    ],
)
def test_intrathecal_step(diagnosis, new_dose, flagged):
    flags = intrathecal_step_flags([it(0, 100), it(1, new_dose)], PatientContext(diagnosis))
    assert codes(flags) == (["intrathecal_step_fast"] if flagged else [])
    if flagged:
        assert flags[0].severity == "warning"
        assert f"{new_dose - 100}% in 24 h" in flags[0].message


def test_intrathecal_steps_compound_within_a_day_but_not_across_days():
    spinal = PatientContext("sci")
    # Day 1 ends at 140 after two entries: 40% above day 0's 100.
    assert codes(intrathecal_step_flags([it(0, 100), it(1, 120, 1), it(1, 140, 2)], spinal)) == [
        "intrathecal_step_fast"
    ]
    # 100 -> 130 -> 169: 30% each 24 h, never above.
    assert intrathecal_step_flags([it(0, 100), it(1, 130), it(2, 169)], spinal) == []
    # 100 -> 135 two days later: the dose 24 h before day 2 is still 100, so 35%.
    assert len(intrathecal_step_flags([it(0, 100), it(2, 135)], spinal)) == 1


def test_intrathecal_restart_from_zero_is_not_a_percentage():
    assert intrathecal_step_flags([it(0, 100), it(5, 0), it(6, 50)], PatientContext("sci")) == []


# --- kidneys: eGFR < 60 caution, < 30 or dialysis avoid ------------------------------------


@pytest.mark.parametrize(
    ("egfr", "dialysis", "expected"),
    [
        (None, False, []),
        (90, False, []),
        (60, False, []),
        (59.9, False, ["renal_caution"]),
        (30, False, ["renal_caution"]),
        (29.9, False, ["renal_avoid"]),
        (12, False, ["renal_avoid"]),
        (None, True, ["renal_avoid"]),
        (75, True, ["renal_avoid"]),
    ],
)
def test_renal(egfr, dialysis, expected):
    patient = PatientContext("ms", egfr=egfr, on_dialysis=dialysis)
    flags = renal_flags([oral(0, 30)], patient)
    assert codes(flags) == expected
    severities = {"renal_caution": "caution", "renal_avoid": "warning"}
    assert [f.severity for f in flags] == [severities[c] for c in expected]


@pytest.mark.parametrize(
    "history",
    [[], [it(0, 300)], [oral(0, 30), oral(10, 20), oral(20, 0)]],
)
def test_renal_flags_only_while_oral_baclofen_is_prescribed(history):
    assert renal_flags(history, PatientContext("ms", egfr=20)) == []


# --- side effect first reported after a dose increase ---------------------------------------


def test_side_effect_after_increase_is_linked_to_the_increase():
    history = [oral(0, 15), oral(10, 30)]
    visits = [visit(1, 5), visit(2, 20, side_effects={"drowsiness": "moderate", "nausea": "none"})]
    [flag] = side_effect_flags(history, visits)
    assert flag.code == "side_effect_after_increase"
    assert flag.related_visit_id == 2
    assert flag.dose_change == oral(10, 30)
    assert "drowsiness" in flag.message and "nausea" not in flag.message
    assert "from 15 to 30 mg/day" in flag.message


@pytest.mark.parametrize(
    ("history", "previous_effects", "flagged"),
    [
        ([oral(0, 15), oral(10, 30)], {}, True),
        ([oral(0, 15), oral(20, 30)], {}, True),  # increase on the visit date: in force
        ([oral(0, 15), oral(5, 30)], {}, False),  # on the previous visit date: already known
        ([oral(0, 15)], {}, False),  # no increase
        ([oral(0, 30), oral(10, 15)], {}, False),  # a decrease
        ([oral(0, 15), oral(10, 30)], {"drowsiness": "mild"}, False),  # not new
        ([oral(0, 15), oral(10, 30)], {"drowsiness": "none"}, True),  # "none" = absent
        ([oral(0, 15), it(10, 100), it(12, 120)], {}, True),  # intrathecal increase
    ],
)
def test_side_effect_rule(history, previous_effects, flagged):
    visits = [
        visit(1, 5, side_effects=previous_effects),
        visit(2, 20, side_effects={"drowsiness": "mild"}),
    ]
    assert len(side_effect_flags(history, visits)) == int(flagged)


# --- rater change ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raters", "flagged_visits"),
    [
        (["Ana", "Ana", "Ana"], []),
        (["Ana", "Ben"], [2]),
        (["Ana", "Ben", "Ben"], [2, 3]),  # visit 3 differs from the baseline's rater
        (["Ana", "ana ", "ANA"], []),
        (["Ana", "", "Ana"], []),  # unknown rater is not a different rater
    ],
)
def test_rater_change(raters, flagged_visits):
    visits = [visit(i, i, rater) for i, rater in enumerate(raters, start=1)]
    flags = rater_flags(visits)
    assert [f.related_visit_id for f in flags] == flagged_visits
    assert all(f.severity == "info" and "Baunsgaard 2016" in f.source for f in flags)


# --- legacy rows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (DoseChange(D0, None, Decimal(30), "mg/day"), "dose_route_missing"),
        (DoseChange(D0, "oral", Decimal(30), "mcg/day"), "dose_unit_mismatch"),
        (DoseChange(D0, "intrathecal", Decimal(30), "mg/day"), "dose_unit_mismatch"),
        (DoseChange(D0, "oral", Decimal(5), "mL/day"), "dose_unit_mismatch"),
        (DoseChange(D0, "oral", Decimal(5), None), "dose_unit_mismatch"),
        (oral(0, 30), None),
        (it(0, 300), None),
    ],
)
def test_legacy_rows(row, code):
    assert codes(legacy_row_flags([row])) == ([code] if code else [])
    if code:
        # Left out of every series, so it can never be mixed with valid rows.
        assert regimen_on([row], D0) == {}
        assert oral_max_flags([row]) == []


# --- the entry point ----------------------------------------------------------------------


def test_safety_flags_newest_first_with_current_flags_leading():
    history = [oral(0, 30), oral(1, 90), oral(30, 0)]
    visits = [visit(2, 40, "Ben"), visit(1, 35, "Ana")]  # unordered on purpose
    patient = PatientContext("sci", egfr=45, sci_level="T4")
    flags = safety_flags(history, patient, visits)
    assert codes(flags) == [
        "rater_changed",  # day 40
        "abrupt_stop",  # day 30
        "oral_above_max",  # day 1, caution
        "oral_titration_fast",  # day 1, caution
    ]
    # The oral dose is 0 by now, so no renal flag.
    history = history[:2]
    flags = safety_flags(history, patient, visits)
    assert codes(flags)[0] == "renal_caution"


def test_newest_first_orders_by_date_then_severity():
    def flag(code, severity, on):
        return Flag(code, severity, "m", "s", on)

    flags = [flag("a", "info", day(1)), flag("b", "warning", day(1)), flag("c", "info", day(2))]
    flags.append(flag("d", "caution", None))
    assert codes(newest_first(flags)) == ["d", "c", "b", "a"]


def test_every_cited_threshold_is_registered():
    history = [oral(0, 15), oral(1, 90), oral(2, 0), it(3, 100), it(4, 200)]
    visits = [visit(1, 1, adherence="stopped"), visit(2, 5, "Ben")]
    flags = safety_flags(history, PatientContext("cp", egfr=20), visits)
    assert {key for f in flags for key in f.thresholds} <= set(THRESHOLD_BY_KEY)
    assert {f.code for f in flags} >= {"abrupt_stop", "intrathecal_step_fast", "reported_stop"}
