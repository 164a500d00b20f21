"""The clinic-wide usual set of muscles: how it is stored and read.

A first visit of a new patient starts from it (see spastic/visits/muscles.py). It is stored on
the clinic as a JSON list of muscle codes; "[]" means the admin never chose one, and the twelve
usual groups of CLINICAL.md stand in.
"""

import json

from spastic.clinical import scales
from spastic.models import Clinic


def stored_set(text: str | None) -> tuple[str, ...]:
    """Read a stored JSON list of muscle codes; unknown codes are dropped, unreadable text is
    no set at all."""
    try:
        codes = json.loads(text or "[]")
    except ValueError:
        return ()
    if not isinstance(codes, list):
        return ()
    return scales.muscle_set(c for c in codes if isinstance(c, str))


def as_stored(codes) -> str:
    """The stored form of a set of muscle codes (known codes, in `scales.MUSCLES` order)."""
    return json.dumps(list(scales.muscle_set(codes)))


def clinic_usual_set(clinic: Clinic) -> tuple[str, ...]:
    """The clinic-wide usual set, or the twelve usual groups when none was chosen."""
    return stored_set(clinic.usual_muscles) or scales.STANDARD_MUSCLES
