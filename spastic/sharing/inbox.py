"""The physician inbox: the summaries for them, newest first, read (by the audit trail) or not.

A physician's summaries are the signed visits of the patients on their care team (a link sent
to an account also needs the care team to open, so "sent to them" adds no others). Each item is
the visit's newest summary version. Opening one is an audit row (`read_summary`, with the
version), and that row is what makes it read: a GET writes nothing else.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from spastic import audit
from spastic.access import visible_patients
from spastic.clinical.scoring import Trend
from spastic.extensions import db
from spastic.models import Acknowledgement, AuditEvent, Patient, ShareLink, User, Visit
from spastic.patients.awaiting import made_at, version_of_visit
from spastic.reports.known import known_for
from spastic.reports.summary import trend_until
from spastic.trends.presenter import verdict_of
from spastic.visits.content import WITH_CONTENT

READ = "read_summary"
SHOWN = 100  # the newest summaries; older ones stay on each patient's visits
WARNING_SEVERITIES = ("warning", "urgent")


@dataclass(frozen=True)
class InboxItem:
    visit_id: int
    patient_id: int
    patient_name: str
    mrn: str
    visit_date: date
    version: int
    made_at: datetime
    read: bool
    acknowledged_at: datetime | None
    sent_to_me: bool
    headline: str
    warnings: tuple[str, ...]


def inbox_headline(trend: Trend, visit: Visit) -> str:
    """The first line of the summary's verdict (the PDF's, as of the visit date)."""
    response = verdict_of(trend, visit.patient, visit.visit_date).response
    return f"{response.headline}: {response.reason}" if response.reason else response.headline


def warnings_of(trend: Trend) -> tuple[str, ...]:
    """The warning (and urgent) flags of the summary, first sentence of each."""
    return tuple(
        flag.message.split(". ")[0].rstrip(".") + "."
        for flag in trend.flags
        if flag.severity in WARNING_SEVERITIES
    )


def inbox_for(user: User) -> list[InboxItem]:
    """The physician's summaries, newest version first (the newest SHOWN)."""
    ids = select(visible_patients(user).with_only_columns(Patient.id).subquery().c.id)
    made = made_at().label("made_at")
    rows = db.session.execute(
        select(Visit, version_of_visit().label("version"), made)
        .where(Visit.status == "signed", Visit.patient_id.in_(ids))
        .options(
            *WITH_CONTENT,
            selectinload(Visit.patient).selectinload(Patient.dose_changes),
            selectinload(Visit.patient).selectinload(Patient.clinic),
        )
        .order_by(made.desc(), Visit.id.desc())
        .limit(SHOWN)
    ).all()
    visit_ids = [row.Visit.id for row in rows]
    read = _read_versions(user, ids)
    acknowledged = _acknowledged(user, visit_ids)
    sent = set(
        db.session.scalars(
            select(ShareLink.visit_id).where(
                ShareLink.visit_id.in_(visit_ids), ShareLink.recipient_user_id == user.id
            )
        )
    )
    signed = _signed_by_patient({row.Visit.patient_id for row in rows})
    items = []
    for visit, version, made_at_ in rows:
        trend = trend_until(visit, known_for(visit, version), signed[visit.patient_id])
        items.append(
            InboxItem(
                visit_id=visit.id,
                patient_id=visit.patient_id,
                patient_name=visit.patient.display_name,
                mrn=visit.patient.mrn,
                visit_date=visit.visit_date,
                version=version,
                made_at=_aware(made_at_),
                # An acknowledgement was made from the opened summary: it is read too.
                read=(visit.id, str(version)) in read or (visit.id, version) in acknowledged,
                acknowledged_at=acknowledged.get((visit.id, version)),
                sent_to_me=visit.id in sent,
                headline=inbox_headline(trend, visit),
                warnings=warnings_of(trend),
            )
        )
    return items


def _signed_by_patient(patient_ids: set[int]) -> dict[int, list[Visit]]:
    """Each patient's signed visits in date order, for all the inbox's patients at once."""
    found: dict[int, list[Visit]] = {pid: [] for pid in patient_ids}
    visits = db.session.scalars(
        select(Visit)
        .where(Visit.patient_id.in_(patient_ids), Visit.status == "signed")
        .order_by(Visit.visit_date, Visit.id)
        .options(*WITH_CONTENT)
    )
    for visit in visits:
        found[visit.patient_id].append(visit)
    return found


def record_read(visit: Visit, version: int) -> None:
    """Audit an opening of one summary version: this row is what marks it read."""
    audit.record(
        READ,
        entity="summary",
        entity_id=visit.id,
        patient_id=visit.patient_id,
        changes={"version": (None, version)},
    )


def _read_versions(user: User, patient_ids) -> set[tuple[int, str]]:
    """(visit id, version) the user has opened, from their audit rows."""
    rows = db.session.execute(
        select(AuditEvent.entity_id, AuditEvent.new_value).where(
            AuditEvent.patient_id.in_(patient_ids),
            AuditEvent.user_id == user.id,
            AuditEvent.action == READ,
            AuditEvent.entity == "summary",
        )
    )
    return {(entity_id, value) for entity_id, value in rows}


def _acknowledged(user: User, visit_ids: list[int]) -> dict[tuple[int, int], datetime]:
    rows = db.session.execute(
        select(
            Acknowledgement.visit_id, Acknowledgement.version, Acknowledgement.acknowledged_at
        ).where(Acknowledgement.visit_id.in_(visit_ids), Acknowledgement.physician_id == user.id)
    )
    return {(v, n): at for v, n, at in rows}


def _aware(value) -> datetime:
    """A coalesce() of UTC columns comes back as the database gives it: make it aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
