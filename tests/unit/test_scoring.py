"""Trends worked by hand: the arithmetic in each comment comes from CLINICAL.md, not the code.

Index: 0=0, 1=1, 1+=2, 2=3, 3=4, 4=5. MCID (Chen 2019): upper 0.48 / 0.76, lower 0.45 / 0.73.
"""

from datetime import date
from decimal import Decimal

import pytest

from spastic.clinical.comparison import (
    composite_change,
    judge_mcid,
    median_grade_label,
    step_status,
    summarise,
)
from spastic.clinical.dosing import DoseChange
from spastic.clinical.pain import judge_pain
from spastic.clinical.responders import average_ranks, spearman
from spastic.clinical.scoring import (
    GridCell,
    PatientContext,
    VisitRecord,
    compute_trend,
    format_change,
    format_index,
    format_percent,
)

STROKE = PatientContext("stroke")


def oral(when: date, dose: int) -> DoseChange:
    return DoseChange(when, "oral", Decimal(dose), "mg/day", stopped=dose == 0)


def intrathecal(when: date, dose: int) -> DoseChange:
    return DoseChange(when, "intrathecal", Decimal(dose), "mcg/day")


# --- worked example A: two visits, 1+, not-assessed rows, a dose change on a visit date -------

V1 = VisitRecord(
    1,
    date(2024, 1, 8),
    "Ana",
    {
        ("elbow_flexors", "left"): "1+",  # 2
        ("elbow_flexors", "right"): "2",  # 3
        ("wrist_flexors", "left"): "1",  # 1, not assessed at V2
        ("knee_flexors", "left"): "3",  # 4
        ("ankle_plantarflexors", "left"): "1+",  # 2
        ("ankle_plantarflexors", "right"): None,  # not assessed
    },
    pain_now=6,
    pain_worst=8,
    penn_frequency=2,
    penn_severity=2,
)
V2 = VisitRecord(
    2,
    date(2024, 2, 5),
    "Ana",
    {
        ("elbow_flexors", "left"): "1",  # 1
        ("elbow_flexors", "right"): "1+",  # 2
        ("knee_flexors", "left"): "2",  # 3
        ("ankle_plantarflexors", "left"): "1+",  # 2
        ("ankle_plantarflexors", "right"): "1",  # 1, first assessed here
    },
    pain_now=4,
    pain_worst=7,
)
DOSES_A = [oral(date(2023, 12, 1), 20), oral(date(2024, 2, 5), 40)]  # rise on V2's date


@pytest.fixture
def trend_a():
    return compute_trend([V2, V1], DOSES_A, STROKE)  # unordered on purpose


def test_example_a_per_visit_summary(trend_a):
    first, second = (v.summary for v in trend_a.visits)
    assert [(g.muscle.code, g.side, g.grade, g.index) for g in first.grades] == [
        ("elbow_flexors", "left", "1+", 2),
        ("elbow_flexors", "right", "2", 3),
        ("wrist_flexors", "left", "1", 1),
        ("knee_flexors", "left", "3", 4),
        ("ankle_plantarflexors", "left", "1+", 2),
    ]
    # V1 upper [2, 3, 1]: mean 6/3 = 2.0, median 2 = "1+"; lower [4, 2]: mean 3.0, median 3 = "2"
    # all [1, 2, 2, 3, 4]: mean 12/5 = 2.4, median 2 = "1+"; at 1+ or above: 2, 3, 4, 2 -> 4.
    c = first.composites
    assert (c["upper"].count, c["upper"].mean_index, c["upper"].median_grade) == (3, 2.0, "1+")
    assert (c["lower"].count, c["lower"].mean_index, c["lower"].median_grade) == (2, 3.0, "2")
    assert (c["all"].count, c["all"].mean_index, c["all"].median_grade) == (5, 2.4, "1+")
    assert first.count_at_1plus_or_above == 4
    assert (first.record.penn_frequency, first.record.penn_severity) == (2, 2)
    # V2 upper [1, 2]: mean 1.5, median 1.5 = "1 to 1+"; lower [3, 2, 1]: mean 2.0, median "1+";
    # all [1, 1, 2, 2, 3]: mean 9/5 = 1.8, median "1+"; at 1+ or above: 2, 3, 2 -> 3.
    c = second.composites
    assert (c["upper"].mean_index, c["upper"].median_index, c["upper"].median_grade) == (
        1.5,
        1.5,
        "1 to 1+",
    )
    assert (c["lower"].count, c["lower"].mean_index, c["lower"].median_grade) == (3, 2.0, "1+")
    assert (c["all"].mean_index, c["all"].median_grade) == (1.8, "1+")
    assert second.count_at_1plus_or_above == 3


def test_example_a_change_compares_only_sides_assessed_at_both(trend_a):
    baseline, latest = trend_a.visits
    assert baseline.vs_baseline is None and baseline.vs_previous is None
    change = latest.vs_baseline
    assert change == latest.vs_previous  # with two visits the baseline is the previous visit
    # Common: elbow flexors L (2 -> 1), R (3 -> 2), knee flexors L (4 -> 3), ankle pf L (2 -> 2).
    assert change.compared_count == 4
    assert [(g.muscle.code, g.side, g.steps, g.status) for g in change.grade_changes] == [
        ("elbow_flexors", "left", -1, "improved"),
        ("elbow_flexors", "right", -1, "improved"),
        ("knee_flexors", "left", -1, "improved"),
        ("ankle_plantarflexors", "left", 0, "unchanged"),
    ]
    assert (change.improved_count, change.worsened_count) == (3, 0)
    upper, lower, both = (change.composites[s] for s in ("upper", "lower", "all"))
    # Upper: (2 + 3) / 2 = 2.5 -> (1 + 2) / 2 = 1.5: -1.0. Elbow flexors alone are not Chen
    # 2019's set (elbow, wrist, finger flexors): descriptive, no MCID verdict.
    assert (upper.count, upper.before, upper.after, upper.change) == (2, 2.5, 1.5, -1.0)
    assert (upper.mcid, upper.direction) == (None, "improved")
    assert upper.mcid_label == "descriptive, not the Chen 2019 muscle set"
    # Lower: (4 + 2) / 2 = 3.0 -> (3 + 2) / 2 = 2.5: -0.5; no hip adductors: descriptive.
    assert (lower.count, lower.change, lower.mcid) == (2, -0.5, None)
    assert not lower.reaches_mcid
    # All four: -3 / 4 = -0.75; no MCID for both limbs together.
    assert (both.count, both.change, both.mcid) == (4, -0.75, None)
    assert change.chen == {}
    # Pain now 6 -> 4: -2 points (important), -2/6 = -33.3% (IMMPACT moderate, >= 30%).
    assert (change.pain_now.change, change.pain_now.important) == (-2, True)
    assert change.pain_now.immpact == "moderate"
    assert change.pain_now.percent == pytest.approx(-100 / 3)
    # Pain worst 8 -> 7: -1 point, -12.5%: not important; IMMPACT minimal (>= 10%).
    assert (change.pain_worst.change, change.pain_worst.important) == (-1, False)
    assert (change.pain_worst.percent, change.pain_worst.immpact) == (-12.5, "minimal")
    assert change.same_rater


def test_example_a_dose_at_each_visit_and_a_change_on_the_visit_date(trend_a):
    baseline, latest = trend_a.visits
    assert baseline.doses["oral"].daily_dose == 20
    assert latest.doses["oral"].daily_dose == 40  # effective on V2's own date: in force
    assert dict(baseline.dose_change_since_previous) == {"oral": None}
    assert dict(latest.dose_change_since_previous) == {"oral": Decimal(20)}
    assert "intrathecal" not in latest.doses


def test_example_a_grid(trend_a):
    rows = {(r.muscle.code, r.side): r.cells for r in trend_a.grid}
    assert list(rows) == [
        ("elbow_flexors", "left"),
        ("elbow_flexors", "right"),
        ("wrist_flexors", "left"),
        ("knee_flexors", "left"),
        ("ankle_plantarflexors", "left"),
        ("ankle_plantarflexors", "right"),
    ]
    assert rows["elbow_flexors", "left"] == (
        GridCell("1+", 2, None, None),
        GridCell("1", 1, -1, "improved"),
    )
    assert rows["wrist_flexors", "left"] == (GridCell("1", 1, None, None), None)
    assert rows["ankle_plantarflexors", "right"] == (None, GridCell("1", 1, None, None))


def test_example_a_responders(trend_a):
    rows = {(r.muscle.code, r.side): r for r in trend_a.responders}
    flexor = rows["elbow_flexors", "left"]
    assert (flexor.baseline_grade, flexor.latest_grade, flexor.steps) == ("1+", "1", -1)
    assert (flexor.status, flexor.first_improved_visit_id) == ("improved", 2)
    assert flexor.first_improved_doses["oral"].daily_dose == 40
    assert rows["knee_flexors", "left"].status == "improved"  # 3 -> 2
    assert rows["ankle_plantarflexors", "left"].status == "unchanged"
    assert rows["ankle_plantarflexors", "left"].first_improved_visit_id is None
    assert rows["wrist_flexors", "left"].status == "not_compared"  # assessed once
    # First assessed at V2: its own first assessment is its baseline.
    assert rows["ankle_plantarflexors", "right"].baseline_visit_id == 2
    assert rows["ankle_plantarflexors", "right"].status == "not_compared"


def test_example_a_flags():
    # 20 -> 40 mg/day in one step: +20 over the dose 3 days earlier (20), more than +15.
    trend = compute_trend([V1, V2], DOSES_A, STROKE)
    assert [f.code for f in trend.flags] == ["oral_titration_fast"]


# --- a single visit, and same-day visits ------------------------------------------------------


def test_single_visit():
    trend = compute_trend([V1], [], STROKE)
    assert len(trend.visits) == 1 and trend.baseline is trend.latest
    assert trend.visits[0].vs_baseline is None and trend.visits[0].doses == {}
    assert {r.status for r in trend.responders} == {"not_compared"}
    assert trend.dose_response == {} and trend.dose_history == {} and trend.flags == ()


def test_no_visits():
    trend = compute_trend([], [oral(date(2024, 1, 1), 30)], STROKE)
    assert trend.visits == () and trend.baseline is None and trend.grid == ()
    assert trend.dose_response == {}


def test_same_day_visits_are_ordered_by_id():
    day = date(2024, 3, 1)
    later = VisitRecord(7, day, "Ben", {("hip_adductors", "right"): "2"})
    earlier = VisitRecord(5, day, "Ana", {("hip_adductors", "right"): "3"})
    trend = compute_trend([later, earlier], [], STROKE)
    assert [v.summary.visit_id for v in trend.visits] == [5, 7]
    # 3 (index 4) -> 2 (index 3): one step down; lower limb -1.0, descriptive (one muscle).
    change = trend.latest.vs_previous
    assert change.grade_changes[0].steps == -1
    assert change.composites["lower"].mcid is None and change.chen == {}
    assert not change.same_rater
    assert [f.code for f in trend.flags] == ["rater_changed"]


# --- oral and intrathecal in one history -----------------------------------------------------


def test_oral_and_intrathecal_are_separate_series():
    grades = {("hip_flexors", "left"): "2"}
    visits = [
        VisitRecord(1, date(2024, 1, 10), "Ana", grades),
        VisitRecord(2, date(2024, 1, 21), "Ana", grades),
        VisitRecord(3, date(2024, 2, 1), "Ana", grades),
    ]
    doses = [
        oral(date(2024, 1, 1), 30),
        intrathecal(date(2024, 1, 20), 100),
        oral(date(2024, 1, 22), 15),
        oral(date(2024, 1, 30), 0),  # zero 8 days after the first cut: a taper, no flag
    ]
    trend = compute_trend(visits, doses, PatientContext("sci", sci_level="T4"))
    at = [{r: c.daily_dose for r, c in v.doses.items()} for v in trend.visits]
    assert at == [{"oral": 30}, {"oral": 30, "intrathecal": 100}, {"oral": 0, "intrathecal": 100}]
    since = [dict(v.dose_change_since_previous) for v in trend.visits]
    assert since == [
        {"oral": None},
        {"oral": 0, "intrathecal": None},
        {"oral": -30, "intrathecal": 0},
    ]
    oral_levels = trend.dose_response["oral"].levels
    assert [(lv.daily_dose, lv.visit_ids) for lv in oral_levels] == [(0, (3,)), (30, (1, 2))]
    [it_level] = trend.dose_response["intrathecal"].levels
    assert (it_level.daily_dose, it_level.visit_ids) == (100, (2, 3))
    assert trend.dose_response["intrathecal"].unit == "mcg/day"
    assert [c.daily_dose for c in trend.dose_history["oral"]] == [30, 15, 0]
    assert trend.flags == ()


# --- dose against composite: levels, Spearman, response to increases ------------------------


def _upper_visit(visit_id: int, when: date, left: str, right: str, pain: int | None = None):
    grades = {("elbow_flexors", "left"): left, ("elbow_flexors", "right"): right}
    return VisitRecord(visit_id, when, "Ana", grades, pain_now=pain)


def test_dose_levels_and_spearman_with_ties():
    visits = [
        _upper_visit(1, date(2024, 1, 15), "3", "3"),  # 10 mg: (4 + 4) / 2 = 4.0
        _upper_visit(2, date(2024, 2, 15), "2", "3", pain=5),  # 20 mg: (3 + 4) / 2 = 3.5
        _upper_visit(3, date(2024, 3, 15), "2", "2", pain=2),  # 20 mg: 3.0
        _upper_visit(4, date(2024, 4, 15), "2", "2"),  # 30 mg: 3.0
        _upper_visit(5, date(2024, 5, 15), "1+", "1"),  # 40 mg: (2 + 1) / 2 = 1.5
    ]
    doses = [oral(date(2024, 1, 1), 10), oral(date(2024, 2, 1), 20)]
    doses += [oral(date(2024, 4, 1), 30), oral(date(2024, 5, 1), 40)]
    response = compute_trend(visits, doses, STROKE).dose_response["oral"]
    levels = [(lv.daily_dose, lv.visit_ids, lv.median_composite) for lv in response.levels]
    # 20 mg: median of 3.5 and 3.0 = 3.25; pain median of 5 and 2 = 3.5.
    assert levels == [(10, (1,), 4.0), (20, (2, 3), 3.25), (30, (4,), 3.0), (40, (5,), 1.5)]
    assert response.levels[1].median_pain_now == 3.5
    assert response.levels[0].median_pain_now is None
    # Dose ranks [1, 2.5, 2.5, 4, 5]; composite ranks [5, 4, 2.5, 2.5, 1]; both mean 3.
    # dx = [-2, -.5, -.5, 1, 2], dy = [2, 1, -.5, -.5, -2]; sum dx*dy = -4 -.5 +.25 -.5 -4
    # = -8.75; sum dx^2 = sum dy^2 = 9.5; rho = -8.75 / 9.5 = -0.92105...
    assert response.correlation.status == "ok" and response.correlation.n == 5
    assert response.correlation.rho == pytest.approx(-8.75 / 9.5)
    assert response.correlation.same_muscles
    assert response.correlation.message == "Spearman rho -0.92 (n = 5 visits)"
    # Increases between visits: 10 -> 20 (V1 vs V3), 20 -> 30 (V3 vs V4), 30 -> 40 (V4 vs V5).
    # Elbow flexors alone are not Chen 2019's upper set (elbow, wrist, finger flexors), so no
    # increase is judged against its MCID: not comparable.
    assert [(i.before_visit_id, i.after_visit_id, i.responded) for i in response.increases] == [
        (1, 3, None),
        (3, 4, None),
        (4, 5, None),
    ]
    assert all(i.limbs == {} for i in response.increases)
    assert not response.no_further_response and response.non_responding_increases == 0


def test_spearman_hand_example_and_ties():
    # Ranks x [1, 2, 3, 4], y [4, 2.5, 2.5, 1]: dx = [-1.5, -.5, .5, 1.5], dy = [1.5, 0, 0, -1.5]
    # sum dx*dy = -4.5; sum dx^2 = 5; sum dy^2 = 4.5; rho = -4.5 / sqrt(22.5) = -0.9487.
    assert average_ranks([3.0, 2.5, 2.5, 1.0]) == [4, 2.5, 2.5, 1]
    assert spearman([10, 20, 30, 40], [3.0, 2.5, 2.5, 1.0]) == pytest.approx(-(0.9**0.5))
    assert spearman([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


@pytest.mark.parametrize(
    ("doses_at_visits", "composites", "status"),
    [
        ([10, 20, 30], ["3", "2", "1"], "not_enough_visits"),  # n = 3 < 4
        ([10, 10, 10, 10], ["3", "2", "1", "0"], "no_dose_variation"),
        ([10, 20, 30, 40], ["2", "2", "2", "2"], "no_composite_variation"),
        ([10, 20, 30, 40], ["3", "2", "1", "0"], "ok"),  # n = 4
    ],
)
def test_correlation_needs_four_visits_and_variation(doses_at_visits, composites, status):
    visits, doses = [], []
    for n, (dose, grade) in enumerate(zip(doses_at_visits, composites, strict=True), start=1):
        visits.append(VisitRecord(n, date(2024, n, 20), "Ana", {("hip_flexors", "left"): grade}))
        doses.append(oral(date(2024, n, 1), dose))
    correlation = compute_trend(visits, doses, STROKE).dose_response["oral"].correlation
    assert correlation.status == status and correlation.n == len(visits)
    if status == "ok":
        assert correlation.rho == pytest.approx(-1.0)
    else:
        assert correlation.rho is None and correlation.message


LOWER = [("knee_flexors", "left"), ("knee_flexors", "right")]
LOWER += [("ankle_plantarflexors", "left"), ("ankle_plantarflexors", "right")]
CHEN_LOWER = [("hip_adductors", "left"), ("hip_adductors", "right"), *LOWER]


def _lower_visit(visit_id: int, month: int, grades: list[str]) -> VisitRecord:
    """A visit over Chen 2019's lower-limb set: hip adductors (both 2), knee flexors, ankle pf."""
    return VisitRecord(
        visit_id,
        date(2024, month, 20),
        "Ana",
        dict(zip(CHEN_LOWER, ["2", "2", *grades], strict=True)),
    )


NO_RESPONSE_VISITS = [
    _lower_visit(1, 1, ["3", "3", "3", "3"]),  # 20 mg: (3+3+4*4)/6
    _lower_visit(2, 2, ["1+", "1+", "1+", "1+"]),  # 30 mg: -8/6 = -1.33 >= 0.73: responds
    _lower_visit(3, 3, ["1+", "1+", "1+", "1"]),  # 40 mg: -1/6 = -0.17 < 0.45
    _lower_visit(4, 4, ["1+", "1+", "1", "1"]),  # 50 mg: -1/6 < 0.45
]
NO_RESPONSE_DOSES = [
    oral(date(2024, month, 1), dose) for month, dose in enumerate([20, 30, 40, 50], 1)
]


def test_no_further_response_after_two_increases_below_the_mcid():
    response = compute_trend(NO_RESPONSE_VISITS, NO_RESPONSE_DOSES, STROKE).dose_response["oral"]
    assert [i.responded for i in response.increases] == [True, False, False]
    assert response.increases[1].limbs["lower"].change == pytest.approx(-1 / 6)
    assert response.no_further_response and response.non_responding_increases == 2


def test_one_increase_without_response_is_not_yet_no_further_response():
    response = compute_trend(NO_RESPONSE_VISITS[:3], NO_RESPONSE_DOSES, STROKE)
    oral_response = response.dose_response["oral"]
    assert [i.responded for i in oral_response.increases] == [True, False]
    assert not oral_response.no_further_response


# --- the rules in isolation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "change", "mcid"),
    [
        ("upper", -0.47, "below"),
        ("upper", -0.48, "half_sd"),
        ("upper", -0.75, "half_sd"),
        ("upper", -0.76, "08_sd"),
        ("lower", -0.44, "below"),
        ("lower", -0.45, "half_sd"),
        ("lower", -0.72, "half_sd"),
        ("lower", -0.73, "08_sd"),
        ("upper", 0.8, "08_sd"),  # size either way; direction says worse
        ("lower", 0.0, "below"),
        ("all", -2.0, None),
    ],
)
def test_judge_mcid(scope, change, mcid):
    assert judge_mcid(scope, change) == mcid


def _grades(limb_muscles: list[str], before: list[str], after: list[str]):
    keys = [(m, side) for m in limb_muscles for side in ("left", "right")]
    return (
        summarise(VisitRecord(1, date(2024, 1, 1), "Ana", dict(zip(keys, before, strict=True)))),
        summarise(VisitRecord(2, date(2024, 2, 1), "Ana", dict(zip(keys, after, strict=True)))),
    )


UPPER5 = [
    "shoulder_adductors",
    "elbow_flexors",
    "wrist_flexors",
    "finger_flexors",
    "elbow_extensors",
]


@pytest.mark.parametrize(
    ("before", "after", "change", "mcid"),
    [
        # 10 upper sides, 4 one-step reductions: -4/10 = -0.4 < 0.48.
        (["2"] * 10, ["1+"] * 4 + ["2"] * 6, -0.4, "below"),
        # 5 reductions: -0.5 >= 0.48.
        (["2"] * 10, ["1+"] * 5 + ["2"] * 5, -0.5, "half_sd"),
        # 8 reductions: -0.8 >= 0.76.
        (["2"] * 10, ["1+"] * 8 + ["2"] * 2, -0.8, "08_sd"),
        # 1+ -> 1 is one step, like 2 -> 1+: 7 one-step reductions = -0.7 < 0.76.
        (["1+"] * 10, ["1"] * 7 + ["1+"] * 3, -0.7, "half_sd"),
        # Worsening by 5 steps: +0.5, judged by size, direction worsened.
        (["1"] * 10, ["1+"] * 5 + ["1"] * 5, 0.5, "half_sd"),
    ],
)
def test_upper_composite_change_against_mcid(before, after, change, mcid):
    reference, visit = _grades(UPPER5, before, after)
    pairs = list(zip(reference.grades, visit.grades, strict=True))
    result = composite_change("upper", pairs)
    assert (result.count, result.change, result.mcid) == (10, pytest.approx(change), mcid)
    assert result.direction == ("improved" if change < 0 else "worsened")
    assert result.reaches_mcid is (change < 0 and mcid != "below")


@pytest.mark.parametrize(
    ("before", "after", "important", "immpact", "percent"),
    [
        (10, 8, True, "minimal", -20.0),  # 2 points; 20%
        (10, 9, False, "minimal", -10.0),  # 1 point; 10%: IMMPACT minimal starts at 10%
        (10, 7, True, "moderate", -30.0),  # 30%
        (10, 5, True, "substantial", -50.0),  # 50%
        (3, 2, True, "moderate", -100 / 3),  # 1 point but 33%
        (4, 3, False, "minimal", -25.0),  # 1 point, 25%
        (2, 0, True, "substantial", -100.0),
        (5, 5, False, None, 0.0),
        (0, 2, True, None, None),  # worse by 2 points; no percentage from 0
        (0, 1, False, None, None),
        (9, 10, False, None, 100 / 9),  # worse by 1 point, 11%
        (3, 4, True, None, 100 / 3),  # worse by 1 point but 33%
    ],
)
def test_pain_change(before, after, important, immpact, percent):
    change = judge_pain("now", before, after)
    assert change.change == after - before
    assert change.important is important
    assert change.immpact == immpact
    assert change.percent == (None if percent is None else pytest.approx(percent))


@pytest.mark.parametrize(
    ("steps", "status"), [(-2, "improved"), (-1, "improved"), (0, "unchanged")]
)
def test_step_status(steps, status):
    assert step_status(steps) == status
    assert step_status(-steps) == {"improved": "worsened", "unchanged": "unchanged"}[status]


@pytest.mark.parametrize(
    ("median", "label"), [(0.0, "0"), (1.5, "1 to 1+"), (2.0, "1+"), (2.5, "1+ to 2"), (5.0, "4")]
)
def test_median_grade_label(median, label):
    assert median_grade_label(median) == label


# --- inputs are validated -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"grades": {("elbow_flexors", "left"): "5"}},
        {"grades": {("elbow_flexors", "left"): "1.5"}},
        {"grades": {("neck_flexors", "left"): "1"}},
        {"grades": {("elbow_flexors", "both"): "1"}},
        {"pain_now": 11},
        {"pain_worst": -1},
        {"penn_frequency": 5},
        {"penn_severity": 2},  # severity without frequency
        {"penn_frequency": 0, "penn_severity": 1},
        {"side_effects": {"itching": "mild"}},
        {"side_effects": {"nausea": "very"}},
        {"adherence": "sometimes"},
    ],
)
def test_visit_record_refuses_invalid_values(fields):
    with pytest.raises(ValueError):
        VisitRecord(1, date(2024, 1, 1), "Ana", **fields)


def test_visit_record_is_a_frozen_copy():
    grades = {("elbow_flexors", "left"): "2", ("elbow_flexors", "right"): None}
    record = VisitRecord(1, date(2024, 1, 1), "Ana", grades)
    grades["elbow_flexors", "left"] = "4"
    assert dict(record.grades) == {("elbow_flexors", "left"): "2"}  # None = not assessed
    with pytest.raises(TypeError):
        record.grades["elbow_flexors", "left"] = "0"


def test_patient_context_refuses_unknown_values():
    with pytest.raises(ValueError):
        PatientContext("parkinson")
    with pytest.raises(ValueError):
        PatientContext("sci", sci_level="T13")


# --- display helpers (the only rounding) -------------------------------------------------------


def test_display_helpers():
    assert (format_index(2.4), format_index(1.0 / 3), format_index(None)) == ("2.40", "0.33", "-")
    assert (format_change(-0.75), format_change(0.5), format_change(0.0)) == (
        "-0.75",
        "+0.50",
        "0.00",
    )
    assert (format_percent(-100 / 3), format_percent(None), format_percent(0.2)) == (
        "-33%",
        "-",
        "0%",
    )
