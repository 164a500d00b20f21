"""Who is due: a patient's next review, and the worklist's order of urgency.

The review interval and the review after a dose change are the clinic's scheduling choices
(clinic settings), not clinical thresholds: nothing here claims a source for them. Urgency
follows the flags' severities, which cite their sources (`refills`, `safety`).
Pure: no app, no database.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from spastic.clinical.dosing import Flag

SOON_DAYS = 7  # "due or overdue this week"
_RANK = {"urgent": 0, "warning": 1}


@dataclass(frozen=True)
class DueFacts:
    """What the worklist knows of one patient."""

    last_visit: date | None
    last_dose_change: date | None  # the latest change in force today, any route
    booked_review: date | None
    review_interval_days: int
    review_after_change_days: int
    refill_due: date | None  # from the pump's forecast, None without a pump
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class Due:
    """The patient's next review and why, and where the patient stands in the worklist."""

    review_date: date
    review_reason: str
    next_date: date  # the earlier of the review and the refill due
    overdue: bool
    soon: bool  # due or overdue within the week
    rank: int  # 0 urgent flag, 1 warning flag, 2 overdue, 3 due this week, 4 the rest


def next_review(facts: DueFacts) -> tuple[date, str]:
    """The booked review, else the review after a dose change since the last visit, else the
    regular interval after the last visit; with no visit at all, now."""
    if facts.booked_review is not None:
        return facts.booked_review, "booked"
    if facts.last_visit is None:
        return date.min, "no visit yet"
    regular = facts.last_visit + timedelta(days=facts.review_interval_days)
    changed = facts.last_dose_change
    if changed is not None and changed > facts.last_visit:
        after_change = changed + timedelta(days=facts.review_after_change_days)
        if after_change < regular:
            return after_change, f"review after the dose change of {changed.day} {changed:%b %Y}"
    return regular, f"every {facts.review_interval_days} days"


def flag_rank(flags: tuple[Flag, ...]) -> int:
    """0 with an urgent flag, 1 with a warning, 9 with neither (cautions do not rank)."""
    return min((_RANK.get(f.severity, 9) for f in flags), default=9)


def rank_of(flag_rank_: int, next_date: date, today: date) -> int:
    """The worklist's urgency: the flags' rank, else overdue 2, due this week 3, the rest 4."""
    if flag_rank_ < 9:
        return flag_rank_
    return 2 if next_date < today else 3 if next_date <= today + timedelta(days=SOON_DAYS) else 4


def due(facts: DueFacts, today: date) -> Due:
    """Place a patient in the worklist: flags first, then overdue, then due this week."""
    review, reason = next_review(facts)
    review = today if review == date.min else review
    dates = [review, *([facts.refill_due] if facts.refill_due else [])]
    next_date = min(dates)
    overdue = next_date < today
    soon = next_date <= today + timedelta(days=SOON_DAYS)
    return Due(
        review, reason, next_date, overdue, soon, rank_of(flag_rank(facts.flags), next_date, today)
    )
