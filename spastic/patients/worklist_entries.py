"""The worklist's stored entries, and the page read from them in one indexed query.

Each patient's entry is a step function of the date, computed by the worklist's own
definition (`worklist.row_on`, the patient page's pure functions) on the day it is written
and on every later day where it can change: a dose change taking effect (the review after a
dose change), the pump's refill-due and alarm and empty dates passing (refill overdue,
urgent), a booked date passing (booked after the alarm). Between those days the stored values
hold, the flags' messages too; today's urgency (overdue, due this week) is computed in SQL
from the stored dates, as `schedule.rank_of` computes it, and `schedule.due` gives the page's
rows from the stored facts. `worklist_hooks` refreshes a patient's entry in the same
transaction as every write that can change it; `flask worklist-rebuild` rebuilds them all.
"""

import json
from datetime import date, timedelta
from functools import cache
from types import SimpleNamespace

from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    select,
)

from spastic.access import visible, visible_patients
from spastic.clinical import schedule
from spastic.clinical.dosing import Flag
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
    """What an entry stores of a row: what the worklist sorts and filters by, and the rest of
    the row's `DueFacts` (the flags as JSON)."""
    facts = row.facts
    review, _reason = schedule.next_review(facts)
    return {
        "sort_name": row.name,
        "review_date": None if review == date.min else review,
        "refill_due": facts.refill_due,
        "has_pump": row.has_pump,
        "flag_rank": schedule.flag_rank(facts.flags),
        "last_visit": facts.last_visit,
        "last_dose_change": facts.last_dose_change,
        "booked_review": facts.booked_review,
        "review_interval_days": facts.review_interval_days,
        "review_after_change_days": facts.review_after_change_days,
        "flags": json.dumps(
            [
                [f.code, f.severity, f.message, f.source, f.on and f.on.isoformat()]
                for f in facts.flags
            ]
        ),
    }


def facts_of(entry) -> schedule.DueFacts:
    """The stored step back as the `DueFacts` it was computed as."""
    flags = tuple(
        Flag(code, severity, message, source, on and date.fromisoformat(on))
        for code, severity, message, source, on in json.loads(entry.flags)
    )
    return schedule.DueFacts(
        last_visit=entry.last_visit,
        last_dose_change=entry.last_dose_change,
        booked_review=entry.booked_review,
        review_interval_days=entry.review_interval_days,
        review_after_change_days=entry.review_after_change_days,
        refill_due=entry.refill_due,
        flags=flags,
    )


def _changes_after(row: worklist.Row, loaded: worklist.Loaded, asof: date) -> list[date]:
    """The days after `asof` on which the row's stored values can change."""
    days = set(loaded.dose_dates.get(row.patient_id, ()))  # the change in force moves
    if row.pump is not None:
        forecast, pump = row.pump.state.forecast, row.pump.pump
        if forecast is not None:
            days |= {d for d in (forecast.empty_date,) if d}  # urgent from the empty date
            # past the alarm date (urgent), past the refill-due date (warning)
            days |= {d + timedelta(days=1) for d in (forecast.alarm_date, forecast.refill_due) if d}
            if forecast.refill_due:  # "refill due in n days", each day of the margin
                due, margin = forecast.refill_due, forecast.margin_days
                days |= {due - timedelta(days=n) for n in range(margin + 1)}
        if pump.elective_replacement_date:  # the pump's replacement warning begins
            days.add(pump.elective_replacement_date - timedelta(days=90))
        # a booked date passed: the next booked date, and its message, change
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
    """One page of the user's worklist, most urgent first, and how many rows in all.

    The order and filter read the stored entries' index alone (`visible` on the entry's own
    patient and clinic ids, no patient row), and the count is a second index-only query; the
    shown ones are fetched by id through `visible_patients`, the one access check, so a row
    reaches the page only if its patient does. Each row's urgency today comes from
    `schedule.due` on its stored facts, its visit in progress and summaries awaiting are read
    live (three more queries). The statements are built once per role, filter and database."""
    ordered, counted, fetched = _statements(user.role, show, db.session.get_bind().dialect.name)
    values = {
        "user_id": user.id,
        "clinic_id": user.clinic_id,
        "today": today,
        "soon": today + timedelta(days=schedule.SOON_DAYS),
    }
    found = db.session.execute(
        ordered, {**values, "limit": PAGE, "offset": (number - 1) * PAGE}
    ).all()
    total = db.session.scalar(counted, values) or 0
    if not found:
        return [], total
    # The sort reads only the keys; the 50 entries shown are fetched whole by id.
    ids = {
        **values,
        "entry_ids": [entry_id for entry_id, _patient_id in found],
        "patient_ids": [patient_id for _entry_id, patient_id in found],
    }
    by_id = {e.id: (e, mrn, birth) for e, mrn, birth in db.session.execute(fetched, ids)}
    shown = [by_id[entry_id] for entry_id, _patient_id in found if entry_id in by_id]
    drafts, awaiting = worklist.in_progress_and_awaiting([e.patient_id for e, *_ in shown])
    rows = []
    for e, mrn, birth_date in shown:
        facts = facts_of(e)
        rows.append(
            worklist.Row(
                e.patient_id,
                e.sort_name,
                mrn,
                birth_date,
                facts.last_visit,
                schedule.due(facts, today),
                e.patient_id in drafts,
                None,
                facts.flags,
                awaiting.get(e.patient_id, 0),
                facts,
                e.has_pump,
            )
        )
    return rows, total


@cache
def _statements(role: str, show: str, dialect: str) -> tuple[Select, Select, Select]:
    """`page`'s three statements (order, count, the shown entries) with the viewer, the day
    and the page as parameters."""
    entry = WorklistEntry
    viewer = SimpleNamespace(role=role, id=bindparam("user_id"), clinic_id=bindparam("clinic_id"))
    day, soon = bindparam("today", type_=Date), bindparam("soon", type_=Date)
    review = func.coalesce(entry.review_date, day)
    next_date = case(
        (and_(entry.refill_due.is_not(None), entry.refill_due < review), entry.refill_due),
        else_=review,
    )
    # `schedule.rank_of`: a flag's rank (0, 1) first; without one (9) the rank (overdue 2, due
    # this week 3, later 4) rises with the next date, so (flag rank, next date) sorts alike.
    name = entry.sort_name
    if dialect == "postgresql":
        name = name.collate("C")  # code-point order, as Python sorts the names
    conditions = [
        visible(viewer, entry.patient_id, entry.clinic_id),
        entry.valid_until > day,
        entry.valid_from <= day,
        *_filter(viewer, show, entry, next_date, soon),
    ]
    ordered = (
        select(entry.id, entry.patient_id)
        .where(*conditions)
        .order_by(entry.flag_rank, next_date, name, entry.patient_id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    counted = select(func.count()).select_from(entry).where(*conditions)
    fetched = (
        select(entry, Patient.mrn, Patient.birth_date)
        .join(Patient, Patient.id == entry.patient_id)
        .where(
            visible_patients(viewer).whereclause,
            Patient.id.in_(bindparam("patient_ids", expanding=True)),
            entry.id.in_(bindparam("entry_ids", expanding=True)),
        )
    )
    return ordered, counted, fetched


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
