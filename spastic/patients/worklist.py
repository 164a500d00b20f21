"""The clinic's worklist: every visible patient with what is due, in order of urgency.

A few set-based queries for the whole clinic (no query per patient); pump patients get their
dates from `pumps.pump_view`, the same function as their own page.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from spastic import audit
from spastic.access import visible_patients
from spastic.clinical import schedule
from spastic.clinical.dosing import Flag
from spastic.extensions import db
from spastic.models import DoseChange, Draft, Patient, Pump, User, Visit
from spastic.patients import pumps
from spastic.patients.awaiting import awaiting_by_patient

FILTERS = {
    "all": "Everyone",
    "week": "Due or overdue this week",
    "pumps": "Pumps",
    "warnings": "Open warnings",
    "mine": "My patients",
}


@dataclass(frozen=True)
class Row:
    patient_id: int
    name: str
    mrn: str
    birth_date: date
    last_visit: date | None
    due: schedule.Due
    draft_open: bool
    pump: pumps.PumpView | None
    flags: tuple[Flag, ...]
    summaries_awaiting: int = 0  # signed summaries no care-team physician has acknowledged

    @property
    def refill_due(self) -> date | None:
        forecast = self.pump.state.forecast if self.pump else None
        return forecast.refill_due if forecast else None


def rows(user: User, today: date, show: str = "all") -> list[Row]:
    """The user's worklist, most urgent first, then by the next date, then by name."""
    patients = db.session.execute(
        visible_patients(user)
        .with_only_columns(
            Patient.id,
            Patient.family_name,
            Patient.given_name,
            Patient.mrn,
            Patient.birth_date,
            Patient.next_review_date,
            Patient.review_interval_days,
        )
        .order_by(None)
    ).all()
    ids = select(visible_patients(user).with_only_columns(Patient.id).subquery().c.id)
    last_visit = _by_patient(
        select(Visit.patient_id, func.max(Visit.visit_date))
        .where(Visit.patient_id.in_(ids), Visit.status == "signed")
        .group_by(Visit.patient_id)
    )
    last_change = _by_patient(
        select(DoseChange.patient_id, func.max(DoseChange.effective_date))
        .where(DoseChange.patient_id.in_(ids), DoseChange.effective_date <= today)
        .group_by(DoseChange.patient_id)
    )
    drafts = set(
        db.session.scalars(
            select(Draft.patient_id).where(
                Draft.patient_id.in_(ids), Draft.visit_id.is_(None), Draft.consumed_at.is_(None)
            )
        )
    )
    pump_views = _pump_views(ids, today)
    awaiting = awaiting_by_patient(ids)
    mine = _mine(user, ids) if show == "mine" else None
    clinic = user.clinic
    result = []
    for p in patients:
        view = pump_views.get(p.id)
        flags = tuple(f for f in (view.state.flags if view else ()) if f.severity != "info")
        facts = schedule.DueFacts(
            last_visit=last_visit.get(p.id),
            last_dose_change=last_change.get(p.id),
            booked_review=p.next_review_date,
            review_interval_days=p.review_interval_days or clinic.review_interval_days,
            review_after_change_days=clinic.review_after_dose_change_days,
            refill_due=view.state.forecast.refill_due if view and view.state.forecast else None,
            flags=flags,
        )
        row = Row(
            p.id,
            f"{p.family_name.upper()}, {p.given_name}",
            p.mrn,
            p.birth_date,
            facts.last_visit,
            schedule.due(facts, today),
            p.id in drafts,
            view,
            flags,
            awaiting.get(p.id, 0),
        )
        if _shown(row, show, mine):
            result.append(row)
    return sorted(result, key=lambda r: (r.due.rank, r.due.next_date, r.name, r.patient_id))


def _by_patient(query) -> dict[int, date]:
    return {patient_id: value for patient_id, value in db.session.execute(query)}


def _pump_views(ids, today: date) -> dict[int, pumps.PumpView]:
    rows_ = db.session.scalars(
        select(Pump)
        .where(Pump.patient_id.in_(ids), Pump.removed_on.is_(None))
        .options(
            selectinload(Pump.refills),
            selectinload(Pump.patient).selectinload(Patient.dose_changes),
            selectinload(Pump.patient).selectinload(Patient.clinic),
        )
        .order_by(Pump.implant_date, Pump.id)
    )
    views = {}
    for row in rows_:  # a later implant replaces an earlier one not yet marked removed
        views[row.patient_id] = pumps.pump_view(row.patient, today, row)
    return views


def _mine(user: User, ids) -> set[int]:
    """A therapist's patients are those they have seen; a physician's, their care team."""
    if user.role == "physician":
        return set(db.session.scalars(ids))
    return set(
        db.session.scalars(
            select(Visit.patient_id).where(Visit.patient_id.in_(ids), Visit.therapist_id == user.id)
        )
    )


def _shown(row: Row, show: str, mine: set[int] | None) -> bool:
    if show == "week":
        return row.due.soon
    if show == "pumps":
        return row.pump is not None
    if show == "warnings":
        return any(f.severity in ("warning", "urgent") for f in row.flags)
    if show == "mine":
        return mine is not None and row.patient_id in mine
    return True


def audit_shown(action: str, rows: list, show: str) -> None:
    """Name every patient the response shows (one row each), with the filter; an empty list
    keeps one row for the filter alone."""
    shown = {"show": (None, show)}
    if rows:
        ids = [r.patient_id for r in rows]
        audit.record_shown(action, entity="worklist", patient_ids=ids, changes=shown)
    else:
        audit.record(action, entity="worklist", changes=shown)
    db.session.commit()
