"""The demo physician's inbox history: summaries acknowledged over the months, a few not yet.

Dr Okafor has acknowledged every demo summary a day after it was signed, except the newest
summary of the patients in LEFT_WAITING, which wait in the inbox (unread) and on the worklist.
Demo dose changes are dated as entered on the day they took effect: a frozen summary only uses
what was entered by its signing, and the demo's visits were signed on their own dates.
"""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update

from spastic.extensions import db
from spastic.models import DoseChange, Patient, User, Visit, utcnow
from spastic.sharing.acknowledgements import acknowledge

PHYSICIAN = "physician@demo.test"
LEFT_WAITING = ("DR-1002", "DR-1006", "DR-1013")  # plateau, overdue pump, discrepant pump


def add_demo_acknowledgements(users: dict[str, User]) -> int:
    """Backdate the demo's dose entries; acknowledge its summaries; return how many."""
    _entered_when_effective()
    physician = users[PHYSICIAN]
    visits = db.session.scalars(
        select(Visit)
        .join(Patient)
        .where(
            Patient.clinic_id == physician.clinic_id,
            Patient.care_team.any(User.id == physician.id),
            Visit.status == "signed",
        )
        .order_by(Visit.patient_id, Visit.visit_date, Visit.id)
    ).all()
    newest = {v.patient_id: v.id for v in visits}
    count = 0
    for visit in visits:
        if visit.id == newest[visit.patient_id] and visit.patient.mrn in LEFT_WAITING:
            continue
        at = min(visit.signed_at + timedelta(days=1, hours=2), utcnow())
        count += acknowledge(visit, 1 + len(visit.amendments), physician, at)
    return count


def _entered_when_effective() -> None:
    for change in db.session.scalars(select(DoseChange)):
        entered = datetime.combine(change.effective_date, time(9, 0), UTC)
        db.session.execute(
            update(DoseChange)
            .where(DoseChange.id == change.id)
            .values(created_at=min(entered, change.created_at))
        )
