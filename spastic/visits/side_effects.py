"""How a visit's side effects read: reported, asked and absent ("none"), or not asked.

A side-effect row is stored only when it was answered: "none" is an answer (asked, absent);
no row (or a row amended away, None) means the question was not asked. The visit page and the
PDF show the three apart, so "none" never reads like "not asked".
"""

from dataclasses import dataclass

from spastic.clinical import scales


@dataclass(frozen=True)
class SideEffectSummary:
    reported: tuple[tuple[str, str], ...]  # (label, severity) of mild, moderate or severe
    absent: tuple[str, ...]  # labels answered "none"
    not_asked: tuple[str, ...]  # labels with no answer

    @property
    def none_asked(self) -> bool:
        return not self.reported and not self.absent


def side_effect_summary(content: dict) -> SideEffectSummary:
    """Sort the side effects of a visit's content into reported, absent and not asked."""
    reported, absent, not_asked = [], [], []
    for code, label in scales.SIDE_EFFECTS.items():
        severity = content.get(f"se:{code}")
        if severity is None:
            not_asked.append(label)
        elif severity == "none":
            absent.append(label)
        else:
            reported.append((label, severity))
    return SideEffectSummary(tuple(reported), tuple(absent), tuple(not_asked))
