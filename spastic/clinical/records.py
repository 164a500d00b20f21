"""Plain inputs to the pure scoring and dosing code: one visit, one patient's context.

These live apart from `scoring` so that `dosing` (safety flags) and `scoring` (trends) can both
use them without importing each other. `scoring` re-exports them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from spastic.clinical import scales

MuscleSide = tuple[str, str]  # (muscle code, side)


def _frozen(mapping: Mapping) -> Mapping:
    # A copy behind a read-only view: the caller's dict can change later without changing us.
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class VisitRecord:
    """What one visit recorded. A muscle-side absent from `grades` (or None) was not assessed."""

    visit_id: int
    visit_date: date
    rater: str
    grades: Mapping[MuscleSide, str | None] = field(default_factory=dict)
    pain_now: int | None = None
    pain_worst: int | None = None
    penn_frequency: int | None = None
    penn_severity: int | None = None
    side_effects: Mapping[str, str] = field(default_factory=dict)  # code -> severity
    adherence: str | None = None

    def __post_init__(self) -> None:
        assessed = {key: grade for key, grade in self.grades.items() if grade is not None}
        for (muscle_code, side), grade in assessed.items():
            if muscle_code not in scales.MUSCLE_BY_CODE or side not in scales.SIDES:
                raise ValueError(f"Unknown muscle or side: {(muscle_code, side)!r}")
            scales.mas_index(grade)
        for pain in (self.pain_now, self.pain_worst):
            if pain is not None and pain not in scales.PAIN_SCORES:
                raise ValueError(f"Pain must be 0 to 10, not {pain!r}")
        self._check_penn()
        for code, severity in self.side_effects.items():
            if code not in scales.SIDE_EFFECTS or severity not in scales.SIDE_EFFECT_SEVERITIES:
                raise ValueError(f"Unknown side effect or severity: {code!r}={severity!r}")
        if self.adherence is not None and self.adherence not in scales.ADHERENCE:
            raise ValueError(f"Unknown adherence: {self.adherence!r}")
        object.__setattr__(self, "grades", _frozen(assessed))
        object.__setattr__(self, "side_effects", _frozen(self.side_effects))

    def _check_penn(self) -> None:
        if self.penn_frequency is not None and self.penn_frequency not in scales.PENN_FREQUENCY:
            raise ValueError(f"Penn frequency must be 0 to 4, not {self.penn_frequency!r}")
        if self.penn_severity is None:
            return
        if self.penn_severity not in scales.PENN_SEVERITY:
            raise ValueError(f"Penn severity must be 1 to 3, not {self.penn_severity!r}")
        if not self.penn_frequency:
            raise ValueError("Penn severity is recorded only when spasm frequency is above 0")

    def side_effects_present(self) -> frozenset[str]:
        """Return the side effects reported at any severity other than "none"."""
        return frozenset(code for code, sev in self.side_effects.items() if sev != "none")


def same_rater(first: str, second: str) -> bool:
    """Compare raters' names ignoring case and spaces; a blank name matches anyone.

    A blank rater is unknown, not a different person, so it never raises a rater-change flag.
    """
    if not first.strip() or not second.strip():
        return True
    return first.strip().casefold() == second.strip().casefold()


@dataclass(frozen=True)
class PatientContext:
    """What the dose checks need to know about the patient."""

    diagnosis: str
    egfr: float | None = None  # mL/min/1.73 m2
    on_dialysis: bool = False
    sci_level: str | None = None

    def __post_init__(self) -> None:
        if self.diagnosis not in scales.DIAGNOSES:
            raise ValueError(f"Unknown diagnosis: {self.diagnosis!r}")
        if self.sci_level is not None and self.sci_level not in scales.SCI_LEVELS:
            raise ValueError(f"Unknown spinal cord injury level: {self.sci_level!r}")
