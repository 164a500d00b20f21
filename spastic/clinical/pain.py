"""Pain on the 0-10 Numeric Rating Scale: whether a change between two visits matters.

Farrar 2001 (Pain 94:149): about 2 points or about 30% is clinically important; IMMPACT
(Dworkin 2008): 10-20% minimal, >= 30% moderate, >= 50% substantial (../shared/CLINICAL.md).
Pure: plain numbers in, a frozen `PainChange` out.
"""

from dataclasses import dataclass
from decimal import Decimal

from spastic.clinical.dosing import Threshold

_FARRAR = "Farrar 2001, Pain 94:149"
_IMMPACT = "IMMPACT, Dworkin 2008"
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("pain_points", Decimal(2), "points", _FARRAR, "about 2 points or about 30%"),
    Threshold("pain_percent", Decimal(30), "%", _FARRAR, "about 2 points or about 30%"),
    Threshold("immpact_minimal", Decimal(10), "%", _IMMPACT, "10-20% minimal"),
    Threshold("immpact_moderate", Decimal(30), "%", _IMMPACT, ">= 30% moderate"),
    Threshold("immpact_substantial", Decimal(50), "%", _IMMPACT, ">= 50% substantial"),
)
_T = {threshold.key: threshold.value for threshold in THRESHOLDS}


@dataclass(frozen=True)
class PainChange:
    """Change in a 0-10 pain rating between two visits; change < 0 means less pain."""

    measure: str  # "now" | "worst" (worst in the last 24 hours)
    before: int
    after: int
    change: int
    percent: float | None  # change as a percentage of `before`; None when `before` is 0
    direction: str  # "improved" | "unchanged" | "worsened"
    important: bool  # >= 2 points or >= 30% either way (Farrar 2001)
    immpact: str | None  # reductions only: "below minimal" | "minimal" | "moderate" | "substantial"


def immpact_band(before: int, reduction: int) -> str | None:
    """Band a pain reduction (IMMPACT, Dworkin 2008): 10-20% minimal, >= 30% moderate, >= 50%
    substantial. The minimal band starts at the lower end of 10-20% and runs up to 30%.
    """
    if reduction <= 0 or before <= 0:
        return None
    # Integer cross-multiplication: 3 of 10 points is exactly 30%, with no float rounding.
    for key, band in (
        ("immpact_substantial", "substantial"),
        ("immpact_moderate", "moderate"),
        ("immpact_minimal", "minimal"),
    ):
        if 100 * reduction >= _T[key] * before:
            return band
    return "below minimal"


def judge_pain(measure: str, before: int, after: int) -> PainChange:
    """Compare two pain ratings: clinically important at about 2 points or about 30%.

    Farrar 2001 (Pain 94:149), applied to the size of the change either way; the IMMPACT band
    (Dworkin 2008) is given for reductions only.
    """
    change = after - before
    size = abs(change)
    important = size >= _T["pain_points"] or (
        before > 0 and 100 * size >= _T["pain_percent"] * before
    )
    return PainChange(
        measure,
        before,
        after,
        change,
        100 * change / before if before else None,
        "improved" if change < 0 else "worsened" if change > 0 else "unchanged",
        important,
        immpact_band(before, -change),
    )
