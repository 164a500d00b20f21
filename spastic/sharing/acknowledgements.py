"""Physicians acknowledging summaries; what the visit page and the clinic's overdue list show.

An acknowledgement is one physician's "I have reviewed this" for one summary version: a double
tap, a resend or two at once store one (the table's unique key), audited once, with its time.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from spastic import audit
from spastic.access import visible_patients
from spastic.extensions import db
from spastic.models import Acknowledgement, Patient, User, Visit, utcnow
from spastic.patients.awaiting import awaiting
from spastic.reports.documents import stored_versions
from spastic.reports.known import current_version
from spastic.visits.labels import label_for


@dataclass(frozen=True)
class Version:
    """One summary version of a signed visit, for the list on the visit page."""

    number: int
    made_at: datetime
    by: str
    reason: str  # "" for the signed original
    changed: tuple[str, ...]  # the fields the amendment changed
    sha256: str | None  # None: not stored (rendered at each download)


def acknowledge(visit: Visit, version: int, physician: User, at: datetime | None = None) -> bool:
    """Record that the physician reviewed this version (now, or `at` for the demo's history);
    False if they had already."""
    values = {
        "visit_id": visit.id,
        "version": version,
        "physician_id": physician.id,
        "acknowledged_at": at or utcnow(),
    }
    insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(Acknowledgement).values(**values).on_conflict_do_nothing()
    # RETURNING says whether this statement stored it (rowcount is not reliable on every driver).
    created = db.session.execute(statement.returning(Acknowledgement.id)).scalar() is not None
    if created:
        audit.record(
            "acknowledge_summary",
            entity="summary",
            entity_id=visit.id,
            patient_id=visit.patient_id,
            changes={
                "version": (None, version),
                "acknowledged_at": (None, values["acknowledged_at"]),
            },
            user=physician,
        )
    return created


def acknowledgements_of(visit: Visit) -> list[Acknowledgement]:
    """Who acknowledged which version of this visit's summary, in order."""
    return db.session.scalars(
        select(Acknowledgement)
        .where(Acknowledgement.visit_id == visit.id)
        .options(selectinload(Acknowledgement.physician))
        .order_by(Acknowledgement.acknowledged_at, Acknowledgement.id)
    ).all()


def versions_of(visit: Visit) -> list[Version]:
    """The summary versions of a signed visit: as signed, then one per amendment."""
    stored = stored_versions(visit)
    found = [Version(1, visit.signed_at, _name(visit.signed_by), "", (), _digest(stored, 1))]
    for number, amendment in enumerate(visit.amendments, start=2):
        changed = tuple(label_for(key) for key in json.loads(amendment.changes))
        found.append(
            Version(
                number,
                amendment.created_at,
                _name(amendment.author),
                amendment.reason,
                changed,
                _digest(stored, number),
            )
        )
    return found


def visit_record(visit: Visit) -> dict:
    """What the visit page's "Summary versions and acknowledgements" section shows."""
    return {
        "versions": versions_of(visit),
        "acknowledgements": acknowledgements_of(visit),
        "current": current_version(visit),
    }


@dataclass(frozen=True)
class Waiting:
    visit: Visit
    version: int
    made_at: datetime
    days: int
    physicians: tuple[str, ...]


def overdue(user: User, now: datetime | None = None) -> tuple[int, list[Waiting]]:
    """The clinic's setting (days) and the summaries of the user's patients that no physician
    has acknowledged that many days after they were signed (or last amended), oldest first."""
    now = now or utcnow()
    days = user.clinic.acknowledge_within_days
    ids = select(visible_patients(user).with_only_columns(Patient.id).subquery().c.id)
    waiting_ids = [row.id for row in db.session.execute(awaiting(ids, now - timedelta(days=days)))]
    visits = db.session.scalars(
        select(Visit)
        .where(Visit.id.in_(waiting_ids))
        .options(
            selectinload(Visit.amendments),
            selectinload(Visit.patient).selectinload(Patient.care_team),
        )
    ).all()
    found = []
    for visit in visits:
        made = visit.amendments[-1].created_at if visit.amendments else visit.signed_at
        team = tuple(u.name for u in visit.patient.care_team if u.role == "physician" and u.active)
        found.append(Waiting(visit, current_version(visit), made, (now - made).days, team))
    return days, sorted(found, key=lambda w: (w.made_at, w.visit.id))


def _digest(stored: dict, number: int) -> str | None:
    row = stored.get(number)
    return row.sha256 if row is not None else None


def _name(user: User | None) -> str:
    return user.name if user is not None else "someone"
