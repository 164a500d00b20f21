"""The fast `compute_trend` equals the straightforward reference on random histories.

The reference (`reference_trend`, `reference_comparison`) is the scoring code as it stood
before it was made fast (issue 16); whole `Trend` results are compared by dataclass equality,
over histories with both routes, invalid dose rows, missing sides, several visits on one day,
carried-over (repeated) grades and different or blank raters.
"""

from dataclasses import FrozenInstanceError, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spastic.clinical import scales
from spastic.clinical.comparison import CHEN_MUSCLES, compare
from spastic.clinical.dosing import DoseChange
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.scoring import compute_trend
from tests.unit import reference_trend
from tests.unit.test_properties import HISTORIES, PATIENTS, visit_lists

MUSCLE_SIDES = [(m.code, side) for m in scales.MUSCLES for side in scales.SIDES]
CHEN_SIDES = [
    (code, side) for codes in CHEN_MUSCLES.values() for code in codes for side in scales.SIDES
]


@st.composite
def long_histories(draw):
    """Visits that carry most grades forward from the previous visit, change a few, drop or
    add sides, and switch raters; dose changes on both routes between and on visit days."""
    count = draw(st.integers(1, 40))
    start = date(2024, 1, 1)
    day = start
    grades = draw(
        st.dictionaries(
            st.sampled_from(CHEN_SIDES + MUSCLE_SIDES), st.sampled_from(scales.MAS_GRADES)
        )
    )
    visits, changes = [], []
    for visit_id in range(1, count + 1):
        day += timedelta(days=draw(st.sampled_from([0, 1, 3, 7, 14])))
        grades = dict(grades)
        for key in draw(st.lists(st.sampled_from(MUSCLE_SIDES), max_size=4)):
            grades[key] = draw(st.none() | st.sampled_from(scales.MAS_GRADES))
        visits.append(
            VisitRecord(
                visit_id,
                day,
                draw(st.sampled_from(["Ana", "ana ", "Ben", ""])),
                grades,
                draw(st.none() | st.integers(0, 10)),
                draw(st.none() | st.integers(0, 10)),
                adherence=draw(st.none() | st.sampled_from(list(scales.ADHERENCE))),
                side_effects=draw(
                    st.dictionaries(
                        st.sampled_from(list(scales.SIDE_EFFECTS)),
                        st.sampled_from(scales.SIDE_EFFECT_SEVERITIES),
                        max_size=2,
                    )
                ),
            )
        )
        if draw(st.booleans()):
            route = draw(st.sampled_from(["oral", "intrathecal", None]))
            unit = draw(st.sampled_from([scales.ROUTE_UNITS.get(route or "", "mg/day"), None]))
            dose = Decimal(draw(st.sampled_from([0, 10, 15, 30, 45, 60, 100, 250])))
            when = day + timedelta(days=draw(st.integers(-3, 3)))
            changes.append(DoseChange(when, route, dose, unit, draw(st.integers(0, 2)), dose == 0))
    return visits, changes


@settings(max_examples=150, deadline=None)
@given(visit_lists(max_size=8), HISTORIES, PATIENTS)
def test_the_fast_trend_equals_the_reference_on_short_random_histories(visits, changes, patient):
    assert compute_trend(visits, changes, patient) == reference_trend.compute_trend(
        visits, changes, patient
    )


@settings(max_examples=60, deadline=None)
@given(long_histories(), PATIENTS)
def test_the_fast_trend_equals_the_reference_on_long_carried_histories(history, patient):
    visits, changes = history
    fast = compute_trend(visits, changes, patient)
    assert fast == reference_trend.compute_trend(visits, changes, patient)
    assert len(fast.visits) == len(visits)


def test_the_reference_is_not_trivially_equal():
    """The comparison can fail: a changed grade changes the trend in both implementations."""
    day = date(2024, 1, 1)
    first = VisitRecord(1, day, "Ana", {("elbow_flexors", "left"): "2"})
    second = replace(first, visit_id=2, visit_date=day + timedelta(days=7))
    worse = replace(second, grades={("elbow_flexors", "left"): "3"})
    patient = PatientContext("stroke")
    same = compute_trend([first, second], [], patient)
    assert same == reference_trend.compute_trend([first, second], [], patient)
    assert same != reference_trend.compute_trend([first, worse], [], patient)
    assert same.visits[1].vs_baseline.grade_changes[0].status == "unchanged"


def test_a_visit_trend_compares_when_read_and_stays_immutable():
    """The deferred comparisons are those `compare` gives, computed once; nothing can be set."""
    day = date(2024, 1, 1)
    grades = {("elbow_flexors", "left"): "2", ("knee_flexors", "right"): "3"}
    first = VisitRecord(1, day, "Ana", grades, pain_now=6)
    second = replace(first, visit_id=2, visit_date=day + timedelta(days=7), pain_now=3)
    third = replace(second, visit_id=3, visit_date=day + timedelta(days=14), rater="Ben")
    trend = compute_trend([first, second, third], [], PatientContext("stroke"))
    baseline, _, latest = (v.summary for v in trend.visits)
    assert trend.visits[2].vs_baseline == compare(baseline, latest)
    assert trend.visits[2].vs_previous == compare(trend.visits[1].summary, latest)
    assert trend.visits[2].vs_previous is trend.visits[2].vs_previous
    assert trend.visits[1].vs_previous is trend.visits[1].vs_baseline
    assert trend.visits[2].vs_baseline.pain_now.change == -3
    assert not trend.visits[2].vs_previous.same_rater
    assert "vs_previous=Comparison(" in repr(trend.visits[2])
    with pytest.raises(FrozenInstanceError):
        trend.visits[2].summary = baseline


def _stepped_history():
    """Six weekly visits, grades cycling, oral dose 10 then 20 mg/day from the fourth visit."""
    start = date(2024, 1, 1)
    visits = [
        VisitRecord(
            n + 1,
            start + timedelta(days=7 * n),
            "Ana",
            {key: scales.MAS_GRADES[(n + i) % 3] for i, key in enumerate(MUSCLE_SIDES)},
        )
        for n in range(6)
    ]
    doses = [
        DoseChange(start, "oral", Decimal(10), "mg/day", 0),
        DoseChange(start + timedelta(days=21), "oral", Decimal(20), "mg/day", 1),
    ]
    return visits, doses


def test_equal_parts_are_shared_between_visits_and_stay_right():
    """Equal composites are one object; visits on one regimen share its mapping and their dose
    change; the figures are still each visit's own (the reference agrees)."""
    visits, doses = _stepped_history()
    patient = PatientContext("stroke")
    trend = compute_trend(visits, doses, patient)
    assert trend == reference_trend.compute_trend(visits, doses, patient)
    first, fourth = trend.visits[0], trend.visits[3]  # grades repeat every third visit
    assert fourth.summary.composites["all"] is first.summary.composites["all"]
    assert trend.visits[1].doses is trend.visits[2].doses is first.doses
    assert fourth.doses is not first.doses and fourth.doses["oral"].daily_dose == 20
    assert trend.visits[1].dose_change_since_previous is trend.visits[2].dose_change_since_previous
    assert dict(trend.visits[1].dose_change_since_previous) == {"oral": 0}
    assert dict(fourth.dose_change_since_previous) == {"oral": 10}
    assert dict(first.dose_change_since_previous) == {"oral": None}


def test_composites_past_the_shared_limit_are_built_the_same(monkeypatch):
    """With nothing shared (the limit reached), every composite is built and the trend is the
    same as the reference's."""
    from spastic.clinical import visit_summary

    monkeypatch.setattr(visit_summary, "_COMPOSITES", {})
    monkeypatch.setattr(visit_summary, "_COMPOSITES_KEPT", 0)
    visits, doses = _stepped_history()
    patient = PatientContext("stroke")
    trend = compute_trend(visits, doses, patient)
    assert trend == reference_trend.compute_trend(visits, doses, patient)
    assert visit_summary._COMPOSITES == {}
    first, fourth = trend.visits[0].summary, trend.visits[3].summary
    assert fourth.composites["all"] == first.composites["all"]
    assert fourth.composites["all"] is not first.composites["all"]
