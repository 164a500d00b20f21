"""Clinical vocabulary: MAS grades, muscles, pain, Penn, side effects, diagnoses and codes.

Pure data and tiny lookups; every fact comes from ../shared/CLINICAL.md with its source.
"""

from dataclasses import dataclass

# Modified Ashworth Scale (Bohannon & Smith, Phys Ther 1987;67:206-7). "Not assessed" is the
# absence of a grade, never a value: a registry that stored it as 5 collided with 5 = rigid.
MAS_GRADES: tuple[str, ...] = ("0", "1", "1+", "2", "3", "4")

# Ordinal index 0-5 with 1+ = 2 (JNER 2013 Table 2; BOTOX paediatric trial NCT01603602).
MAS_INDEX: dict[str, int] = {grade: index for index, grade in enumerate(MAS_GRADES)}

MAS_MEANINGS: dict[str, str] = {
    "0": "No increase in tone",
    "1": "Slight increase: catch and release, or minimal resistance at the end of the range",
    "1+": "Slight increase: catch, then minimal resistance through less than half the range",
    "2": "More marked increase through most of the range; the part is still easily moved",
    "3": "Considerable increase; passive movement is difficult",
    "4": "Part rigid in flexion or extension",
}


def mas_index(grade: str) -> int:
    """Return the 0-5 ordinal index of a MAS grade code (1+ = 2, JNER 2013 Table 2)."""
    try:
        return MAS_INDEX[grade]
    except KeyError:
        raise ValueError(f"Unknown Modified Ashworth grade: {grade!r}") from None


@dataclass(frozen=True)
class Muscle:
    """A muscle group scored on each side."""

    code: str
    label: str
    limb: str  # "upper" | "lower"


# The usual muscle groups of CLINICAL.md, in its order, with the groups added for issue 13 each
# beside the group of its own joint. Codes are stored with the grades, in exports and in the
# DESIGN.md contracts: never rename one, only add.
MUSCLES: tuple[Muscle, ...] = (
    Muscle("shoulder_adductors", "Shoulder adductors", "upper"),
    Muscle("elbow_flexors", "Elbow flexors", "upper"),
    Muscle("elbow_extensors", "Elbow extensors", "upper"),
    Muscle("wrist_flexors", "Wrist flexors", "upper"),
    Muscle("finger_flexors", "Finger flexors", "upper"),
    Muscle("thumb_flexors", "Thumb flexors", "upper"),
    Muscle("hip_flexors", "Hip flexors", "lower"),
    Muscle("hip_adductors", "Hip adductors", "lower"),
    Muscle("hip_extensors", "Hip extensors", "lower"),
    Muscle("hip_internal_rotators", "Hip internal rotators", "lower"),
    Muscle("knee_flexors", "Knee flexors (hamstrings)", "lower"),
    Muscle("knee_extensors", "Knee extensors (quadriceps)", "lower"),
    Muscle("ankle_plantarflexors", "Ankle plantarflexors (gastrocnemius-soleus)", "lower"),
    Muscle("ankle_invertors", "Ankle invertors", "lower"),
    Muscle("toe_flexors", "Toe flexors (long toe flexors)", "lower"),
)
# The twelve usual groups of CLINICAL.md: the clinic-wide usual set a new clinic starts from.
STANDARD_MUSCLES: tuple[str, ...] = (
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
_USUAL_GROUPS = "CLINICAL.md, Modified Ashworth Scale: the usual muscle groups, each side scored"
# Where each group is listed for grading with the MAS. Groups searched for and NOT added, for
# want of a source listing them for MAS grading (2026-12): forearm pronators (found only as
# an injection pattern: pronator teres/quadratus), hip abductors, shoulder internal rotators
# (found as a pattern, "adducted/internally rotated shoulder", not as a graded group).
MUSCLE_SOURCES: dict[str, str] = {
    **{code: _USUAL_GROUPS for code in STANDARD_MUSCLES},
    "thumb_flexors": (
        "'How to Administer the Modified Ashworth Scale' (222health.com, conditions-treatments/"
        "disabilities/35485): after the fingers, 'repeat this process, only moving the thumb';"
        " Brashear et al., Arch Phys Med Rehabil 2002;83:1349-54 rated elbow, wrist, finger"
        " and thumb flexion tone (original Ashworth scale) in post-stroke spasticity"
    ),
    "hip_internal_rotators": (
        "Mutlu, Livanelioglu & Gunel, BMC Musculoskelet Disord 2008;9:44 (PMC2330046):"
        " spasticity of hip flexors, adductors, internal rotators, hamstrings and"
        " gastrocnemius assessed by the Ashworth and Modified Ashworth scales (spastic CP)"
    ),
    "toe_flexors": (
        "ACTRN12617001603303 (botulinum toxin, post-stroke lower limb): inclusion by Modified"
        " Ashworth score of quadriceps, gastrocnemius, soleus, tibialis posterior, flexor"
        " hallucis longus or flexor digitorum longus (the long toe flexors)"
    ),
}
MUSCLE_BY_CODE: dict[str, Muscle] = {muscle.code: muscle for muscle in MUSCLES}


def muscle_set(codes) -> tuple[str, ...]:
    """Return the known muscle codes among `codes`, once each, in `MUSCLES` order."""
    wanted = set(codes)
    return tuple(m.code for m in MUSCLES if m.code in wanted)


LIMBS: tuple[str, ...] = ("upper", "lower")

SIDES: tuple[str, ...] = ("left", "right")
SIDE_LABELS: dict[str, str] = {"left": "Left", "right": "Right"}

# Pain Numeric Rating Scale: 0 = no pain, 10 = worst imaginable (LOINC 72514-3).
PAIN_SCORES = range(0, 11)


def pain_band(score: int) -> str:
    """Return the display band of a 0-10 pain score: 0 none, 1-3 mild, 4-6 moderate, 7-10 severe.

    Bands as listed in CLINICAL.md (Pain: Numeric Rating Scale 0-10).
    """
    if score not in PAIN_SCORES:
        raise ValueError(f"Pain score must be 0 to 10, not {score!r}")
    if score == 0:
        return "none"
    if score <= 3:
        return "mild"
    if score <= 6:
        return "moderate"
    return "severe"


# Penn Spasm Frequency Scale; severity applies only when frequency > 0. No MCID established.
PENN_FREQUENCY: dict[int, str] = {
    0: "No spasms",
    1: "Mild spasms induced by stimulation",
    2: "Full spasms less than once an hour",
    3: "Spasms more than once an hour",
    4: "Spasms more than 10 times an hour",
}
PENN_SEVERITY: dict[int, str] = {1: "Mild", 2: "Moderate", 3: "Severe"}

# Adverse reactions listed on the baclofen tablet label, plus "other".
SIDE_EFFECTS: dict[str, str] = {
    "drowsiness": "Drowsiness",
    "dizziness": "Dizziness",
    "weakness": "Weakness",
    "fatigue": "Fatigue",
    "confusion": "Confusion",
    "nausea": "Nausea",
    "headache": "Headache",
    "hypotension": "Hypotension",
    "insomnia": "Insomnia",
    "constipation": "Constipation",
    "urinary_frequency": "Urinary frequency",
    "other": "Other",
}
SIDE_EFFECT_SEVERITIES: tuple[str, ...] = ("none", "mild", "moderate", "severe")

ADHERENCE: dict[str, str] = {
    "as_prescribed": "As prescribed",
    "missed_doses": "Missed doses",
    "stopped": "Stopped",
}

DIAGNOSES: dict[str, str] = {
    "sci": "Spinal cord injury",
    "ms": "Multiple sclerosis",
    "cp": "Cerebral palsy",
    "stroke": "Stroke",
    "tbi": "Traumatic brain injury",
    "other": "Other",
}
AIS_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
SCI_LEVELS: tuple[str, ...] = (
    *(f"C{n}" for n in range(1, 9)),
    *(f"T{n}" for n in range(1, 13)),
    *(f"L{n}" for n in range(1, 6)),
    *(f"S{n}" for n in range(1, 6)),
)

_ORIGIN_BY_DIAGNOSIS: dict[str, str] = {
    "sci": "spinal",
    "ms": "spinal",
    "cp": "cerebral",
    "stroke": "cerebral",
    "tbi": "cerebral",
}


def spasticity_origin(diagnosis: str) -> str | None:
    """Return "spinal", "cerebral" or None (unknown) for a diagnosis code.

    The Lioresal Intrathecal label groups spasticity of spinal cord origin (spinal cord injury,
    multiple sclerosis) apart from spasticity of cerebral origin (cerebral palsy, brain injury),
    and titrates them differently (+10-30% vs +5-15% per 24 h). Stroke is a cerebral lesion, so
    it is grouped as cerebral. "other" stays unknown: the app must not guess.
    """
    if diagnosis not in DIAGNOSES:
        raise ValueError(f"Unknown diagnosis: {diagnosis!r}")
    return _ORIGIN_BY_DIAGNOSIS.get(diagnosis)


def level_at_or_above_t6(level: str) -> bool:
    """Say whether a spinal cord injury level is T6 or higher (cervical, or T1-T6).

    Injury at T6 or above carries a higher risk from intrathecal baclofen withdrawal
    (Lioresal Intrathecal label, boxed warning; CLINICAL.md).
    """
    if level not in SCI_LEVELS:
        raise ValueError(f"Unknown spinal cord injury level: {level!r}")
    return SCI_LEVELS.index(level) <= SCI_LEVELS.index("T6")


ROUTES: dict[str, str] = {"oral": "Oral", "intrathecal": "Intrathecal"}
# Oral baclofen is always in mg, intrathecal in mcg; never mL (ISMP: 1 vs 5 mg/mL products).
ROUTE_UNITS: dict[str, str] = {"oral": "mg/day", "intrathecal": "mcg/day"}

SEXES: dict[str, str] = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}

# Modified Tardieu Scale (Boyd & Graham 1999): quality of reaction X at a given velocity.
TARDIEU_QUALITY: dict[int, str] = {
    0: "No resistance",
    1: "Slight resistance",
    2: "Clear catch, then release",
    3: "Fatigable clonus under 10 seconds",
    4: "Unfatigable clonus over 10 seconds",
    5: "Joint immobile",
}
TARDIEU_VELOCITIES: dict[str, str] = {"V1": "V1 slow", "V2": "V2 gravity", "V3": "V3 fast"}

# SNOMED CT 765771006 = Modified Ashworth Scale; no LOINC code exists for MAS.
SNOMED_MAS = "765771006"
SNOMED_TARDIEU = "1290510006"
LOINC_PAIN = "72514-3"
