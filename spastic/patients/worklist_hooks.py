"""Keep the worklist's stored entries current: every write that can change one refreshes it
in the same transaction, whichever module made the write.

After each flush the session notes the patients whose worklist facts were written (a patient's
own details and bookings, a signed visit, a dose change, a pump, a refill) and the clinics
whose scheduling settings changed; just before the commit their entries are recomputed
(`worklist_entries.refresh`), so the commit holds the change and its entry or neither.
A visit still in progress changes nothing stored (the page reads visits in progress itself).
"""

from itertools import chain

from sqlalchemy import event, inspect, select

from spastic.extensions import db
from spastic.models import Clinic, DoseChange, Patient, Pump, Refill, Visit
from spastic.patients import worklist_entries

_KEY = "worklist_pending"
CLINIC_SETTINGS = ("refill_margin_days", "review_interval_days", "review_after_dose_change_days")


def _pending(session) -> dict[str, set[int]]:
    return session.info.setdefault(_KEY, {"patients": set(), "pumps": set(), "clinics": set()})


def _note(session, _context) -> None:
    pending = None
    dirty = set(session.dirty)
    for obj in chain(session.new, dirty, session.deleted):
        if not isinstance(obj, (Patient, Visit, DoseChange, Pump, Refill, Clinic)):
            continue
        if obj in dirty and not session.is_modified(obj, include_collections=False):
            continue
        pending = pending or _pending(session)
        if isinstance(obj, Patient):
            pending["patients"].add(obj.id)
        elif isinstance(obj, Visit):
            # A new visit saved unsigned changes no entry (they count signed visits only).
            if obj.status == "signed" or (
                obj not in session.new and inspect(obj).attrs.status.history.has_changes()
            ):
                pending["patients"].add(obj.patient_id)
        elif isinstance(obj, (DoseChange, Pump)):
            pending["patients"].add(obj.patient_id)
        elif isinstance(obj, Refill):
            pending["pumps"].add(obj.pump_id)
        elif any(inspect(obj).attrs[name].history.has_changes() for name in CLINIC_SETTINGS):
            pending["clinics"].add(obj.id)


def _refresh(session) -> None:
    session.flush()
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    ids = set(pending["patients"])
    if pending["pumps"]:
        ids |= set(session.scalars(select(Pump.patient_id).where(Pump.id.in_(pending["pumps"]))))
    if pending["clinics"]:
        clinics = pending["clinics"]
        ids |= set(session.scalars(select(Patient.id).where(Patient.clinic_id.in_(clinics))))
    ids.discard(None)
    if ids:
        # Read the rows as stored (the commit expires them all anyway): an attribute holds
        # what was assigned ("20" for 20 mL) until it is loaded again.
        session.expire_all()
        worklist_entries.refresh(ids, session=session)


def _forget(session, *_args) -> None:
    session.info.pop(_KEY, None)


def install() -> None:
    """Listen on the app's sessions (once)."""
    for name, listener in (
        ("after_flush", _note),
        ("before_commit", _refresh),
        ("after_rollback", _forget),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


install()
