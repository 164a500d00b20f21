"""The verdict, by tables: each kind just inside and just outside its rule.

Visits grade Chen 2019's lower-limb set (hip adductors, knee flexors, ankle plantarflexors, both
sides: 6 sides), so a change of k one-step reductions is -k/6 of the mean index: 3 sides
(-0.50) reach the 0.5 SD MCID of 0.45, 2 sides (-0.33) do not.
"""

from datetime import date
from decimal import Decimal

import pytest

from spastic.clinical.comparison import CHEN_MUSCLES
from spastic.clinical.dosing import DoseChange
from spastic.clinical.records import PatientContext, VisitRecord
from spastic.clinical.regimen import describe_regimen, regimen_in_force
from spastic.clinical.scoring import compute_trend
from spastic.clinical.verdict import KINDS, mcid_caveat, verdict

STROKE = PatientContext("stroke")
SIDES = [(m, s) for m in CHEN_MUSCLES["lower"] for s in ("left", "right")]
D = date(2024, 1, 1)


def day(n: int) -> date:
    return date.fromordinal(D.toordinal() + n)


def dose(n: int, mg: int, route: str = "oral", seq: int = 0) -> DoseChange:
    unit = "mg/day" if route == "oral" else "mcg/day"
    return DoseChange(day(n), route, Decimal(mg), unit, seq, stopped=mg == 0)


def visit(vid: int, n: int, reduced: int = 0, rater: str = "Ana", **extra) -> VisitRecord:
    """All six sides at grade 2, less one step ("1+") on the first `reduced` sides; a negative
    number raises that many sides to "3"."""
    grades = {key: "2" for key in SIDES}
    for key in SIDES[: abs(reduced)]:
        grades[key] = "1+" if reduced > 0 else "3"
    for key in extra.pop("drop", ()):
        grades.pop(key)
    return VisitRecord(vid, day(n), rater, grades, **extra)


def judge(visits, doses, patient=STROKE, as_of: int = 400):
    return verdict(compute_trend(visits, doses, patient), patient, day(as_of))


# One increase (20 -> 30 mg on day 30); a visit before it and two after.
ONE_UP = [dose(0, 20), dose(30, 30)]


@pytest.mark.parametrize(
    ("after", "kind", "headline"),
    [
        (3, "responding", "Responding"),  # -0.50 >= 0.45: inside
        (2, "too_early", "Too early to judge"),  # -0.33: one increase without a response
        (-3, "worse", "Worse since 11 Jan 2024"),  # +0.50: inside
        (-2, "too_early", "Too early to judge"),  # +0.33: not worse
    ],
)
def test_response_to_one_increase(after, kind, headline):
    result = judge([visit(1, 10), visit(2, 40, after), visit(3, 60, after)], ONE_UP)
    assert (result.response.kind, result.response.headline) == (kind, headline)
    assert result.response.steps == ("20 → 30 mg/day oral on 31 Jan 2024",)
    assert "lower limb, Chen 2019 set" in result.response.basis
    if after == 2:
        assert result.response.reason.startswith("1 increase without a response")


def test_fewer_than_two_visits_at_this_dose_is_too_early():
    inside = judge([visit(1, 10), visit(2, 40, 3)], ONE_UP)
    assert inside.response.kind == "too_early"
    assert inside.response.reason == "1 signed visit at this dose, at least 2 needed"
    outside = judge([visit(1, 10), visit(2, 40, 3), visit(3, 50, 3)], ONE_UP)
    assert outside.response.kind == "responding"


@pytest.mark.parametrize(("rater", "kind"), [("Ben", "too_early"), (" ana ", "responding")])
def test_a_different_rater_is_too_early(rater, kind):
    result = judge([visit(1, 10), visit(2, 40, 3), visit(3, 60, 3, rater=rater)], ONE_UP)
    assert result.response.kind == kind
    if kind == "too_early":
        assert result.response.reason.startswith("a different rater (Ana on 11 Jan 2024, Ben")


@pytest.mark.parametrize(
    ("drop", "kind"),
    [
        ((("knee_flexors", "left"), ("knee_flexors", "right")), "too_early"),  # a muscle missing
        ((("knee_flexors", "right"),), "responding"),  # each muscle still on a side in common
    ],
)
def test_not_the_same_muscles_is_too_early(drop, kind):
    visits = [visit(1, 10), visit(2, 40, 3), visit(3, 60, 3, drop=drop)]
    result = judge(visits, ONE_UP)
    assert result.response.kind == kind
    if kind == "too_early":
        assert result.response.reason.startswith("not the same muscles")


def test_no_visit_since_the_latest_change_is_too_early():
    result = judge([visit(1, 10), visit(2, 40, 3), visit(3, 60, 3)], [*ONE_UP, dose(70, 45)])
    assert result.response.kind == "too_early"
    assert result.response.reason == "no signed visit since the change on 11 Mar 2024"
    assert result.response.steps == ("30 → 45 mg/day oral on 11 Mar 2024",)
    # The PDF of the visit of day 60 judges as of its date: the later change is not yet there.
    as_then = judge(
        [visit(1, 10), visit(2, 40, 3), visit(3, 60, 3)], [*ONE_UP, dose(70, 45)], as_of=60
    )
    assert as_then.response.kind == "responding"


THREE_UP = [dose(0, 20), dose(30, 30), dose(90, 40), dose(150, 50)]


@pytest.mark.parametrize(
    ("last", "kind", "headline"),
    [
        (3, "no_further_response", "No further response to the last 2 increases"),  # inside
        (6, "responding", "Responding"),  # the last increase responded: outside
    ],
)
def test_no_further_response_after_two_increases(last, kind, headline):
    visits = [
        visit(1, 10),
        visit(2, 40, 3),  # 20 -> 30: -0.50, responds
        visit(3, 100, 3),  # 30 -> 40: 0, does not
        visit(4, 160, last),
        visit(5, 170, last),  # 40 -> 50
    ]
    result = judge(visits, THREE_UP)
    assert (result.response.kind, result.response.headline) == (kind, headline)
    if kind == "no_further_response":
        assert result.response.steps == ("30 → 40 mg/day oral", "40 → 50 mg/day oral")


@pytest.mark.parametrize(("after", "kind"), [(0, "unchanged"), (-3, "worse"), (3, "responding")])
def test_a_reduction_is_judged_without_no_further_response(after, kind):
    doses = [dose(0, 30), dose(30, 20)]
    result = judge([visit(1, 10), visit(2, 40, after), visit(3, 60, after)], doses)
    assert result.response.kind == kind
    assert result.response.steps == ("30 → 20 mg/day oral on 31 Jan 2024",)


def test_a_route_switch_names_the_stop_and_the_start():
    doses = [dose(0, 60), dose(30, 0, seq=1), dose(30, 100, "intrathecal", seq=2)]
    result = judge([visit(1, 10), visit(2, 40, 3), visit(3, 60, 3)], doses)
    assert result.response.kind == "responding"
    assert result.response.steps == (
        "oral stopped (from 60 mg/day) on 31 Jan 2024",
        "intrathecal started at 100 mcg/day on 31 Jan 2024",
    )
    assert result.regimen == "100 mcg/day intrathecal; oral stopped on 31 Jan 2024"


def test_no_visit_and_no_dose_are_too_early():
    assert judge([], ONE_UP).response.reason == "no signed visit yet"
    assert judge([visit(1, 10)], []).response.reason == "no baclofen dose recorded"
    assert all(kind in KINDS for kind in ("responding", "worse", "too_early"))


def test_flags_new_since_the_previous_visit_come_apart_from_older_ones():
    # 20 -> 40 mg/day is a step above 15 mg/day (label): a flag dated on the change.
    doses = [dose(0, 20), dose(5, 40), dose(50, 60)]
    visits = [visit(1, 2), visit(2, 20), visit(3, 60)]
    result = judge(visits, doses)
    assert [f.on for f in result.new_flags] == [day(50)]  # after the visit of day 20
    assert day(5) in [f.on for f in result.older_flags]
    assert result.previous_date == day(20)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({}, {"drowsiness": "moderate"}, ("New: Drowsiness (moderate)",)),
        (
            {"drowsiness": "mild"},
            {"drowsiness": "moderate"},
            ("Worse: Drowsiness mild → moderate",),
        ),
        ({"drowsiness": "moderate"}, {"drowsiness": "moderate"}, ()),
        ({"drowsiness": "moderate"}, {"drowsiness": "mild"}, ()),
        ({"nausea": "none"}, {"nausea": "none"}, ()),
    ],
)
def test_side_effects_new_or_worse(before, after, expected):
    visits = [visit(1, 10, side_effects=before), visit(2, 40, side_effects=after)]
    assert judge(visits, ONE_UP).side_effects == expected


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (2, 3, "Spasms (Penn frequency 0-4) 2 → 3: more frequent"),
        (2, 1, "Spasms (Penn frequency 0-4) 2 → 1: less frequent"),
        (2, 2, "Spasms (Penn frequency 0-4) unchanged at 2"),
        (None, 2, None),
    ],
)
def test_penn_change(before, after, expected):
    def sev(f):
        return 1 if f else None

    visits = [
        visit(1, 10, penn_frequency=before, penn_severity=sev(before)),
        visit(2, 40, penn_frequency=after, penn_severity=sev(after)),
    ]
    assert judge(visits, ONE_UP).spasms == expected


@pytest.mark.parametrize(
    ("diagnosis", "caveat"),
    [
        ("stroke", None),
        ("ms", "stroke-derived reference (Chen 2019); no MCID established for multiple sclerosis"),
        ("sci", "stroke-derived reference (Chen 2019); no MCID established for spinal cord injury"),
        ("other", "stroke-derived reference (Chen 2019); no MCID established for this diagnosis"),
    ],
)
def test_mcid_caveat_for_every_diagnosis_but_stroke(diagnosis, caveat):
    assert mcid_caveat(diagnosis) == caveat
    result = judge([visit(1, 10), visit(2, 40, 3)], ONE_UP, PatientContext(diagnosis))
    assert result.mcid_caveat == caveat


def test_combined_oral_and_intrathecal_is_said_as_both():
    doses = [dose(0, 60), dose(20, 200, "intrathecal", seq=1)]
    regimen = regimen_in_force(doses, day(30))
    assert regimen.label == "60 mg/day oral + 200 mcg/day intrathecal"
    assert regimen.last_change == doses[1]
    result = judge([visit(1, 10), visit(2, 40)], doses)
    assert result.regimen == "60 mg/day oral + 200 mcg/day intrathecal"
    assert result.regimen_changed == day(20)
    assert describe_regimen({}) == "no baclofen recorded"
    assert describe_regimen({"oral": dose(3, 0)}) == "baclofen stopped: oral on 4 Jan 2024"
