"""The clinic's worklist: every visible patient with what is due, in order of urgency.

The definition: a patient's row on a day, computed from the history (`row_on`) with the same
pure functions as the patient page (`clinical.schedule`, and `pumps.pump_view` for the pump).
A few set-based queries load any number of patients (no query per patient). The page reads
its order from the stored entries (`worklist_entries`), which are computed by `row_on`.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import selectinload

from spastic import audit
from spastic.access import visible_patients
from spastic.clinical import schedule
from spastic.clinical.dosing import Flag
from spastic.extensions import db
from spastic.models import Clinic, DoseChange, Draft, Patient, Pump, User, Visit
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
    facts: schedule.DueFacts | None = None  # what `due` was computed from
    has_pump: bool = False  # `pump` is None on a page read from the stored entries

    @property
    def refill_due(self) -> date | None:
        return self.facts.refill_due if self.facts else None


@dataclass(frozen=True)
class Loaded:
    """What the rows of some patients are computed from, loaded in a few set-based queries."""

    patients: list  # (id, names, MRN, birth date, booked review, intervals, clinic settings)
    last_visit: dict[int, date]
    dose_dates: dict[int, list[date]]  # every dose change's effective date, oldest first
    drafts: set[int]
    pumps: dict[int, Pump]
    awaiting: dict[int, int]


def load(ids, *, session=None, extras: bool = True) -> Loaded:
    """Load what the worklist shows of these patients (ids, or a select of ids); without
    `extras`, not the visits in progress and summaries awaiting (the stored entries need
    neither: the page reads them for its own rows)."""
    session = session or db.session
    patients = session.execute(
        select(
            Patient.id,
            Patient.family_name,
            Patient.given_name,
            Patient.mrn,
            Patient.birth_date,
            Patient.next_review_date,
            Patient.review_interval_days,
            Patient.clinic_id,
            Clinic.review_interval_days.label("clinic_interval"),
            Clinic.review_after_dose_change_days,
        )
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(Patient.id.in_(ids))
    ).all()
    last_visit = dict(
        session.execute(
            select(Visit.patient_id, func.max(Visit.visit_date))
            .where(Visit.patient_id.in_(ids), Visit.status == "signed")
            .group_by(Visit.patient_id)
        ).all()
    )
    dose_dates: dict[int, list[date]] = {}
    for patient_id, effective in session.execute(
        select(DoseChange.patient_id, DoseChange.effective_date)
        .where(DoseChange.patient_id.in_(ids))
        .order_by(DoseChange.patient_id, DoseChange.effective_date)
    ):
        dose_dates.setdefault(patient_id, []).append(effective)
    drafts, awaiting = in_progress_and_awaiting(ids) if extras else (set(), {})
    return Loaded(patients, last_visit, dose_dates, drafts, _pumps(session, ids), awaiting)


def in_progress_and_awaiting(ids) -> tuple[set[int], dict[int, int]]:
    """The patients with a visit in progress, and how many summaries await each one's
    acknowledgement (read live: neither decides the order)."""
    if isinstance(ids, list | tuple | set):  # a page's ids: the statement built once
        drafts = set(db.session.scalars(_OPEN_DRAFTS_OF_IDS, {"ids": list(ids)}))
    else:
        drafts = set(db.session.scalars(_open_drafts(ids)))
    return drafts, awaiting_by_patient(ids)


def _open_drafts(ids) -> Select:
    open_ = Draft.visit_id.is_(None), Draft.consumed_at.is_(None)
    return select(Draft.patient_id).where(Draft.patient_id.in_(ids), *open_)


_OPEN_DRAFTS_OF_IDS = _open_drafts(bindparam("ids", expanding=True))


def row_on(p, loaded: Loaded, today: date) -> Row:
    """One patient's worklist row on `today` (`p`: one of `loaded.patients`)."""
    row = loaded.pumps.get(p.id)
    view = pumps.pump_view(row.patient, today, row) if row is not None else None
    flags = tuple(f for f in (view.state.flags if view else ()) if f.severity != "info")
    in_force = [d for d in loaded.dose_dates.get(p.id, ()) if d <= today]
    facts = schedule.DueFacts(
        last_visit=loaded.last_visit.get(p.id),
        last_dose_change=in_force[-1] if in_force else None,
        booked_review=p.next_review_date,
        review_interval_days=p.review_interval_days or p.clinic_interval,
        review_after_change_days=p.review_after_dose_change_days,
        refill_due=view.state.forecast.refill_due if view and view.state.forecast else None,
        flags=flags,
    )
    return Row(
        p.id,
        sort_name(p.family_name, p.given_name),
        p.mrn,
        p.birth_date,
        facts.last_visit,
        schedule.due(facts, today),
        p.id in loaded.drafts,
        view,
        flags,
        loaded.awaiting.get(p.id, 0),
        facts,
        view is not None,
    )


def sort_name(family_name: str, given_name: str) -> str:
    return f"{family_name.upper()}, {given_name}"


def order_key(row: Row) -> tuple:
    """Most urgent first, then by the next date, then by name."""
    return (row.due.rank, row.due.next_date, row.name, row.patient_id)


def rows(user: User, today: date, show: str = "all") -> list[Row]:
    """The user's whole worklist computed from every patient's history (the CSV export, and
    the definition the stored entries are tested against), most urgent first."""
    ids = select(visible_patients(user).with_only_columns(Patient.id).subquery().c.id)
    loaded = load(ids)
    mine = _mine(user, ids) if show == "mine" else None
    result = [row_on(p, loaded, today) for p in loaded.patients]
    return sorted((r for r in result if _shown(r, show, mine)), key=order_key)


def _pumps(session, ids) -> dict[int, Pump]:
    """Each patient's active pump, with what `pumps.pump_view` reads of it."""
    found = session.scalars(
        select(Pump)
        .where(Pump.patient_id.in_(ids), Pump.removed_on.is_(None))
        .options(
            selectinload(Pump.refills),
            selectinload(Pump.patient).selectinload(Patient.dose_changes),
            selectinload(Pump.patient).selectinload(Patient.clinic),
        )
        .order_by(Pump.implant_date, Pump.id)
    )
    # a later implant replaces an earlier one not yet marked removed
    return {row.patient_id: row for row in found}


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
        return row.has_pump
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
