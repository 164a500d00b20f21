"""How visit content reads to a clinician: field names and Tardieu records.

The visits blueprint registers both as template filters (`content_label`, `tardieu_display`).
"""

from spastic.clinical import scales
from spastic.visits.content import tardieu_parts

SCALAR_LABELS = {
    "visit_date": "Visit date",
    "rater": "Rater",
    "muscles": "Muscles assessed",
    "pain_now": "Pain now",
    "pain_worst": "Worst pain, last 24 h",
    "penn_frequency": "Penn spasm frequency",
    "penn_severity": "Spasm severity",
    "adherence": "Taking baclofen",
    "notes": "Notes",
    "side_effect_other_detail": "Other side effect",
}
TARDIEU_LABELS = {"r1": "R1", "r2": "R2", "quality": "quality", "velocity": "velocity"}


def label_for(key: str) -> str:
    """Name a form field or content key the way a clinician would read it."""
    if key in SCALAR_LABELS:
        return SCALAR_LABELS[key]
    kind, _, rest = key.replace(":", "-").partition("-")
    if kind == "se":
        return f"Side effect: {scales.SIDE_EFFECTS.get(rest, rest)}"
    muscle, side, part = ([*rest.split("-"), "", ""])[:3]
    if muscle not in scales.MUSCLE_BY_CODE:
        return key
    name = f"{scales.MUSCLE_BY_CODE[muscle].label} - {scales.SIDE_LABELS.get(side, side)}"
    if kind == "tardieu":
        return f"{name}: Tardieu {TARDIEU_LABELS.get(part, part)}"
    if kind == "carry":
        return f"{name}: carried grade"
    return name


def tardieu_display(text: str | None) -> str:
    """Print a Tardieu record as clinicians write it: R1 40°, R2 90°, X 2, V3."""
    parts = tardieu_parts(text)
    shown = [
        f"R1 {parts['r1']}°" if "r1" in parts else "",
        f"R2 {parts['r2']}°" if "r2" in parts else "",
    ]
    shown += [f"X {parts['quality']}" if "quality" in parts else "", parts.get("velocity", "")]
    return ", ".join(p for p in shown if p)
