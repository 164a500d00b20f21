"""Clinical vocabulary against ../shared/CLINICAL.md, table by table."""

import pytest

from spastic.clinical import scales


@pytest.mark.parametrize(
    ("grade", "index"),
    [("0", 0), ("1", 1), ("1+", 2), ("2", 3), ("3", 4), ("4", 5)],
)
def test_mas_index_follows_the_ordinal_table(grade, index):
    assert scales.mas_index(grade) == index
    assert scales.MAS_INDEX[grade] == index


@pytest.mark.parametrize("not_a_grade", ["5", "1.5", "", "not assessed", "+1", " 1", None])
def test_mas_index_refuses_anything_but_the_six_codes(not_a_grade):
    with pytest.raises(ValueError, match="Modified Ashworth"):
        scales.mas_index(not_a_grade)


def test_mas_grades_have_meanings_and_no_not_assessed_grade():
    assert scales.MAS_GRADES == ("0", "1", "1+", "2", "3", "4")
    assert set(scales.MAS_MEANINGS) == set(scales.MAS_GRADES)
    assert "rigid" in scales.MAS_MEANINGS["4"]
    assert "less than half" in scales.MAS_MEANINGS["1+"]


def test_muscles_keep_the_twelve_usual_groups_and_add_three_beside_their_joints():
    assert [m.code for m in scales.MUSCLES] == [
        "shoulder_adductors",
        "elbow_flexors",
        "elbow_extensors",
        "wrist_flexors",
        "finger_flexors",
        "thumb_flexors",
        "hip_flexors",
        "hip_adductors",
        "hip_extensors",
        "hip_internal_rotators",
        "knee_flexors",
        "knee_extensors",
        "ankle_plantarflexors",
        "ankle_invertors",
        "toe_flexors",
    ]
    assert [m.limb for m in scales.MUSCLES] == ["upper"] * 6 + ["lower"] * 9
    assert scales.STANDARD_MUSCLES == (
        "shoulder_adductors",
        "elbow_flexors",
        "elbow_extensors",
        "wrist_flexors",
        "finger_flexors",
        "hip_flexors",
        "hip_adductors",
        "hip_extensors",
        "knee_flexors",
        "knee_extensors",
        "ankle_plantarflexors",
        "ankle_invertors",
    )
    assert scales.MUSCLE_BY_CODE["knee_flexors"].label == "Knee flexors (hamstrings)"
    assert scales.MUSCLE_BY_CODE["knee_extensors"].label == "Knee extensors (quadriceps)"
    assert (
        scales.MUSCLE_BY_CODE["ankle_plantarflexors"].label
        == "Ankle plantarflexors (gastrocnemius-soleus)"
    )
    assert scales.MUSCLE_BY_CODE["shoulder_adductors"].label == "Shoulder adductors"
    assert scales.SIDES == ("left", "right")
    assert scales.SIDE_LABELS == {"left": "Left", "right": "Right"}


def test_every_muscle_group_names_its_source():
    assert set(scales.MUSCLE_SOURCES) == set(scales.MUSCLE_BY_CODE)
    for code in scales.STANDARD_MUSCLES:
        assert scales.MUSCLE_SOURCES[code].startswith("CLINICAL.md")
    added = set(scales.MUSCLE_BY_CODE) - set(scales.STANDARD_MUSCLES)
    assert added == {"thumb_flexors", "hip_internal_rotators", "toe_flexors"}
    for code in added:  # a cited source, not the CLINICAL.md list
        assert not scales.MUSCLE_SOURCES[code].startswith("CLINICAL.md")
        assert "Ashworth" in scales.MUSCLE_SOURCES[code]
    assert "PMC2330046" in scales.MUSCLE_SOURCES["hip_internal_rotators"]
    assert "ACTRN12617001603303" in scales.MUSCLE_SOURCES["toe_flexors"]
    assert "flexor hallucis longus" in scales.MUSCLE_SOURCES["toe_flexors"]
    assert "thumb" in scales.MUSCLE_SOURCES["thumb_flexors"]


@pytest.mark.parametrize(
    ("codes", "kept"),
    [
        ([], ()),
        (["toe_flexors", "elbow_flexors"], ("elbow_flexors", "toe_flexors")),
        (["elbow_flexors", "elbow_flexors"], ("elbow_flexors",)),
        (["forearm_pronators", "hip_internal_rotators"], ("hip_internal_rotators",)),
        (["", "ELBOW_FLEXORS"], ()),
    ],
)
def test_muscle_set_keeps_known_codes_once_in_muscles_order(codes, kept):
    assert scales.muscle_set(codes) == kept


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "none"),
        (1, "mild"),
        (3, "mild"),
        (4, "moderate"),
        (6, "moderate"),
        (7, "severe"),
        (10, "severe"),
    ],
)
def test_pain_bands(score, band):
    assert scales.pain_band(score) == band


@pytest.mark.parametrize("score", [-1, 11, 2.5])
def test_pain_band_refuses_scores_outside_0_to_10(score):
    with pytest.raises(ValueError, match="0 to 10"):
        scales.pain_band(score)


def test_penn_and_tardieu_scales():
    assert list(scales.PENN_FREQUENCY) == [0, 1, 2, 3, 4]
    assert list(scales.PENN_SEVERITY) == [1, 2, 3]
    assert "10" in scales.PENN_FREQUENCY[4]
    assert list(scales.TARDIEU_QUALITY) == [0, 1, 2, 3, 4, 5]
    assert scales.TARDIEU_VELOCITIES == {"V1": "V1 slow", "V2": "V2 gravity", "V3": "V3 fast"}


def test_side_effects_follow_the_label_list_in_order():
    assert list(scales.SIDE_EFFECTS) == [
        "drowsiness",
        "dizziness",
        "weakness",
        "fatigue",
        "confusion",
        "nausea",
        "headache",
        "hypotension",
        "insomnia",
        "constipation",
        "urinary_frequency",
        "other",
    ]
    assert scales.SIDE_EFFECTS["urinary_frequency"] == "Urinary frequency"
    assert scales.SIDE_EFFECT_SEVERITIES == ("none", "mild", "moderate", "severe")


def test_choices_for_forms():
    assert list(scales.ADHERENCE.values()) == ["As prescribed", "Missed doses", "Stopped"]
    assert list(scales.DIAGNOSES) == ["sci", "ms", "cp", "stroke", "tbi", "other"]
    assert scales.AIS_GRADES == ("A", "B", "C", "D", "E")
    assert scales.ROUTE_UNITS == {"oral": "mg/day", "intrathecal": "mcg/day"}
    assert list(scales.SEXES) == ["female", "male", "other", "unknown"]
    assert len(scales.SCI_LEVELS) == 8 + 12 + 5 + 5
    assert scales.SCI_LEVELS[:2] == ("C1", "C2") and scales.SCI_LEVELS[-1] == "S5"


@pytest.mark.parametrize(
    ("diagnosis", "origin"),
    [
        ("sci", "spinal"),
        ("ms", "spinal"),
        ("cp", "cerebral"),
        ("stroke", "cerebral"),
        ("tbi", "cerebral"),
        ("other", None),
    ],
)
def test_spasticity_origin_groups_diagnoses_as_the_intrathecal_label(diagnosis, origin):
    assert scales.spasticity_origin(diagnosis) == origin


def test_spasticity_origin_refuses_an_unknown_diagnosis():
    with pytest.raises(ValueError, match="diagnosis"):
        scales.spasticity_origin("parkinson")


@pytest.mark.parametrize(
    ("level", "high"),
    [
        ("C1", True),
        ("C8", True),
        ("T1", True),
        ("T6", True),
        ("T7", False),
        ("T12", False),
        ("L1", False),
        ("S5", False),
    ],
)
def test_level_at_or_above_t6(level, high):
    assert scales.level_at_or_above_t6(level) is high


@pytest.mark.parametrize("level", ["T13", "c5", "", "C0"])
def test_level_at_or_above_t6_refuses_unknown_levels(level):
    with pytest.raises(ValueError, match="level"):
        scales.level_at_or_above_t6(level)


def test_codes():
    assert scales.SNOMED_MAS == "765771006"
    assert scales.SNOMED_TARDIEU == "1290510006"
    assert scales.LOINC_PAIN == "72514-3"
