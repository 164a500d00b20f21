"""The worklist's stored entries, and the page read from them in one indexed query.

Each patient's entry is a step function of the date, computed by the worklist's own
definition (`worklist.row_on`, the patient page's pure functions) on the day it is written
and on every later day where it can change: a dose change taking effect (the review after a
dose change), the pump's refill-due and alarm and empty dates passing (refill overdue,
urgent), a booked date passing (booked after the alarm). Between those days the stored values
hold; today's urgency (overdue, due this week) is computed in SQL from the stored dates, as
`schedule.rank_of` computes it. `worklist_hooks` refreshes a patient's entry in the same
transaction as every write that can change it; `flask worklist-rebuild` rebuilds them all.
"""

from datetime import date, timedelta

from sqlalchemy import Date, and_, case, delete, exists, func, insert, literal, select

from spastic.access import visible_patients
from spastic.clinical import schedule
from spastic.extensions import db
from spastic.models import Patient, User, Visit, WorklistEntry
from spastic.models.worklist import FIRST_DAY, LAST_DAY
from spastic.patients import worklist

PAGE = 50
BATCH = 2000  # patients loaded at a time by a rebuild


def steps(p, loaded: worklist.Loaded, asof: date) -> list[dict]:
    """One patient's entry from `asof` on: (valid_from, valid_until, values), fewest steps.
    The first step also holds before `asof` (a worklist is never read for an earlier day)."""
    found: list[dict] = []
    days = [asof]
    row = worklist.row_on(p, loaded, asof)
    days += _changes_after(row, loaded, asof)
    for index, day in enumerate(days):
        row = row if index == 0 else worklist.row_on(p, loaded, day)
        values = values_of(row)
        if found and all(found[-1][k] == v for k, v in values.items()):
            continue
        if found:
            found[-1]["valid_until"] = day
        found.append({**values, "valid_from": FIRST_DAY if not found else day})
    found[-1]["valid_until"] = LAST_DAY
    return [{"patient_id": p.id, "clinic_id": p.clinic_id, **s} for s in found]


def values_of(row: worklist.Row) -> dict:
    """What an entry stores of a row (what the worklist sorts and filters by)."""
    review, _reason = schedule.next_review(row.facts)
    return {
        "sort_name": row.name,
        "review_date": None if review == date.min else review,
        "refill_due": row.facts.refill_due,
        "has_pump": row.pump is not None,
        "flag_rank": schedule.flag_rank(row.facts.flags),
    }


def _changes_after(row: worklist.Row, loaded: worklist.Loaded, asof: date) -> list[date]:
    """The days after `asof` on which the row's stored values can change."""
    days = set(loaded.dose_dates.get(row.patient_id, ()))  # the change in force moves
    if row.pump is not None:
        forecast, pump = row.pump.state.forecast, row.pump.pump
        if forecast is not None:
            days |= {d for d in (forecast.empty_date,) if d}  # urgent from the empty date
            # past the alarm date (urgent), past the refill-due date (warning)
            days |= {d + timedelta(days=1) for d in (forecast.alarm_date, forecast.refill_due) if d}
        # a booked date passed: the next booked one may fall after the alarm
        booked = (pump.patient.next_refill_date, pump.patient.next_review_date)
        days |= {d + timedelta(days=1) for d in booked if d and d < LAST_DAY}
    return sorted(d for d in days if d > asof)


def refresh(patient_ids, *, session=None, asof: date | None = None) -> None:
    """Recompute these patients' entries (a patient no longer there loses its entry)."""
    session = session or db.session
    ids = sorted(set(patient_ids))
    asof = asof or date.today()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        loaded = worklist.load(batch, session=session, extras=False)
        session.execute(delete(WorklistEntry).where(WorklistEntry.patient_id.in_(batch)))
        rows = [s for p in loaded.patients for s in steps(p, loaded, asof)]
        if rows:
            session.execute(insert(WorklistEntry), rows)


def rebuild(*, session=None, clinic_id: int | None = None) -> int:
    """Recompute every patient's entry (of one clinic, or all); returns how many patients."""
    session = session or db.session
    query = select(Patient.id)
    if clinic_id is not None:
        query = query.where(Patient.clinic_id == clinic_id)
    ids = session.scalars(query).all()
    if clinic_id is None:
        session.execute(delete(WorklistEntry))
    refresh(ids, session=session)
    return len(ids)


def page(user: User, today: date, show: str, number: int = 1) -> tuple[list[worklist.Row], int]:
    """One page of the user's worklist, most urgent first, and how many rows in all: the order,
    the filter and the count from the stored entries, the rows from `worklist.row_on`."""
    entry = WorklistEntry
    day, soon = literal(today, Date), literal(today + timedelta(days=schedule.SOON_DAYS), Date)
    review = func.coalesce(entry.review_date, day)
    next_date = case(
        (and_(entry.refill_due.is_not(None), entry.refill_due < review), entry.refill_due),
        else_=review,
    )
    rank = case(
        (entry.flag_rank < 9, entry.flag_rank),
        (next_date < day, 2),
        (next_date <= soon, 3),
        else_=4,
    )
    name = entry.sort_name
    if db.session.get_bind().dialect.name == "postgresql":
        name = name.collate("C")  # code-point order, as Python sorts the names
    query = (
        select(entry.patient_id, func.count().over())
        .join(Patient, Patient.id == entry.patient_id)
        .where(
            visible_patients(user).whereclause,
            entry.clinic_id == user.clinic_id,
            entry.valid_until > today,
            entry.valid_from <= today,
        )
    )
    query = query.where(*_filter(user, show, entry, next_date, soon))
    found = db.session.execute(
        query.order_by(rank, next_date, name, entry.patient_id)
        .limit(PAGE)
        .offset((number - 1) * PAGE)
    ).all()
    if not found:
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
        return [], total or 0
    ids = [patient_id for patient_id, _total in found]
    loaded = worklist.load(ids)
    by_id = {p.id: p for p in loaded.patients}
    return [worklist.row_on(by_id[i], loaded, today) for i in ids], found[0][1]


def _filter(user: User, show: str, entry, next_date, soon) -> list:
    if show == "week":
        return [next_date <= soon]
    if show == "pumps":
        return [entry.has_pump.is_(True)]
    if show == "warnings":
        return [entry.flag_rank <= 1]
    if show == "mine" and user.role != "physician":  # a physician's are the care team's
        seen = exists().where(Visit.patient_id == entry.patient_id, Visit.therapist_id == user.id)
        return [seen]
    return []
