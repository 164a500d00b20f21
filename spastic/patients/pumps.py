"""A patient's intrathecal pump: its stored rows handed to the pure arithmetic, and its writes.

One definition: every page, the PDF, the worklist and the exports get a pump's dates from
`pump_view`, which calls `clinical.refills.pump_state` on the same facts.
"""

import secrets
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Date, Select, bindparam, select

from spastic import audit
from spastic.clinical import dosing, pump, refills, scales
from spastic.extensions import db
from spastic.models import DoseChange, Patient, Pump, Refill, User
from spastic.patients.pump_forms import PumpEntry, RefillEntry
from spastic.patients.regimen import as_pure_changes

NO_DOSE = (
    "No intrathecal dose (mcg/day) is in force on {day:%-d %b %Y}. The refill's concentration "
    "alone says nothing about what the pump delivers: record the programmed daily dose first."
)


class RefillRefused(ValueError):
    """The refill cannot be recorded as entered; the message says why, for a clinician."""


@dataclass(frozen=True)
class PumpView:
    """A pump with its state, as pages show it."""

    pump: Pump
    state: refills.PumpState
    margin_days: int
    high_risk: bool
    risk_reasons: tuple[str, ...]
    booked: date | None
    dose_in_force: dosing.DoseChange | None
    segments: tuple[pump.Segment, ...]  # the arithmetic of the last fill, for showing it


def active_pump(patient_id: int, on: date | None = None, *, load=()) -> Pump | None:
    """The patient's implanted pump (the latest not removed; on a date, the one in place);
    `load` names loader options for what the caller shows."""
    values = {"patient_id": patient_id} if on is None else {"patient_id": patient_id, "on": on}
    return db.session.scalars(_active_pump(on is None, tuple(load)), values).unique().one_or_none()


@lru_cache(maxsize=16)
def _active_pump(in_place_now: bool, load: tuple) -> Select:
    """`active_pump`'s statement, built once per question and loader options (the patient and
    the day are parameters). Options hash by identity: callers pass module constants, and the
    bound keeps a caller that builds them per call from growing the cache."""
    query = select(Pump).where(Pump.patient_id == bindparam("patient_id")).options(*load)
    if in_place_now:
        query = query.where(Pump.removed_on.is_(None))
    else:
        on = bindparam("on", type_=Date)
        query = query.where(
            Pump.implant_date <= on, (Pump.removed_on.is_(None)) | (Pump.removed_on > on)
        )
    return query.order_by(Pump.implant_date.desc(), Pump.id.desc()).limit(1)


def dose_steps(changes: list[DoseChange]) -> list[pump.DoseStep]:
    """The programmed intrathecal doses, one per day (the day's last entry), oldest first."""
    days = dosing.day_doses(as_pure_changes(changes), "intrathecal")
    return [pump.DoseStep(c.effective_date, c.daily_dose) for c in days]


def facts_of(row: Pump, until: date | None = None) -> refills.PumpFacts:
    fills = tuple(
        refills.RefillFacts(
            r.id,
            pump.Fill(r.refill_date, r.volume_added_ml, r.concentration_mcg_ml),
            r.residual_drawn_ml,
            r.first_fill,
        )
        for r in row.refills
        if until is None or r.refill_date <= until
    )
    return refills.PumpFacts(
        row.reservoir_ml, row.alarm_ml, row.elective_replacement_date, row.accuracy_percent, fills
    )


def risk_reasons(patient: Patient) -> tuple[str, ...]:
    """The label's reasons for a higher withdrawal risk that apply to this patient."""
    reasons = []
    if patient.sci_level and scales.level_at_or_above_t6(patient.sci_level):
        reasons.append(f"injury at {patient.sci_level} (T6 or above)")
    if patient.communication_difficulty:
        reasons.append("communication difficulty")
    if patient.prior_withdrawal:
        reasons.append("previous withdrawal")
    return tuple(reasons)


def next_booked(patient: Patient, today: date) -> date | None:
    """The earliest booked refill or review still ahead (a past booking says nothing)."""
    ahead = [d for d in (patient.next_refill_date, patient.next_review_date) if d and d >= today]
    return min(ahead, default=None)


def pump_view(
    patient: Patient, today: date, row: Pump | None = None, *, as_known_on: bool = False
) -> PumpView | None:
    """The patient's pump and its state today (None without a pump).

    `as_known_on=True` (a visit's summary) takes only the refills and dose changes dated on or
    before `today`, and no booked date: the state as it stood that day.
    """
    row = row or active_pump(patient.id, today if as_known_on else None)
    if row is None:
        return None
    reasons = risk_reasons(patient)
    margin = pump.margin_for(bool(reasons), patient.clinic.refill_margin_days)
    changes = [c for c in patient.dose_changes if not as_known_on or c.effective_date <= today]
    steps = dose_steps(changes)
    booked = None if as_known_on else next_booked(patient, today)
    state = refills.pump_state(
        facts_of(row, today if as_known_on else None),
        steps,
        today,
        margin_days=margin,
        booked=booked,
        dose_change_days=frozenset(s.effective_date for s in steps),
    )
    in_force = dosing.dose_in_force(as_pure_changes(changes), today, "intrathecal")
    shown = tuple(pump.segments(state.forecast.fill, steps)) if state.forecast else ()
    return PumpView(row, state, margin, bool(reasons), reasons, booked, in_force, shown)


def shows_pump(patient: Patient, view: PumpView | None) -> bool:
    """A pump card belongs on the page of a patient with a pump or an intrathecal dose."""
    return view is not None or any(c.route == "intrathecal" for c in patient.dose_changes)


def add_pump(patient: Patient, entry: PumpEntry, user: User) -> Pump:
    """Record the patient's pump (a previous one is marked removed on the new implant date)."""
    db.session.refresh(patient, with_for_update=True)
    previous = active_pump(patient.id)
    if previous is not None:
        previous.removed_on = entry.implant_date
        audit.record(
            "update",
            entity="pump",
            entity_id=previous.id,
            patient_id=patient.id,
            changes={"removed_on": (None, entry.implant_date)},
        )
    row = Pump(patient=patient, created_by_id=user.id, **asdict(entry))
    db.session.add(row)
    db.session.flush()
    audit.record(
        "create",
        entity="pump",
        entity_id=row.id,
        patient_id=patient.id,
        changes=audit.changed_fields({}, asdict(entry)),
    )
    return row


def expected_residual_for(patient: Patient, row: Pump, on: date) -> Decimal | None:
    """The residual the app expects on `on` from the last fill before it (None: unknown)."""
    earlier = [r for r in facts_of(row).refills if r.fill.on <= on]
    if not earlier:
        return None
    expected = refills.expected_residual(earlier[-1], dose_steps(patient.dose_changes), on)
    if expected is None:
        return None
    return (Decimal(expected.numerator) / Decimal(expected.denominator)).quantize(Decimal("0.01"))


def refill_by_key(row: Pump, submission_key: str) -> Refill | None:
    """The refill this pump already has for a submission key, if any."""
    return db.session.scalar(
        select(Refill).where(Refill.submission_key == submission_key, Refill.pump_id == row.id)
    )


def add_refill(
    patient: Patient, row: Pump, entry: RefillEntry, user: User, submission_key: str
) -> tuple[Refill, bool]:
    """Record a refill once per submission key; refuse one with no dose in force that day."""
    db.session.refresh(patient, with_for_update=True)
    existing = db.session.scalar(select(Refill).where(Refill.submission_key == submission_key))
    if existing is not None and existing.pump_id == row.id:
        return existing, False
    if existing is not None:
        submission_key = secrets.token_urlsafe(24)
    changes = as_pure_changes(patient.dose_changes)
    if dosing.dose_in_force(changes, entry.refill_date, "intrathecal") is None:
        raise RefillRefused(NO_DOSE.format(day=entry.refill_date))
    first = not row.refills
    refill = Refill(
        pump=row,
        performed_by_id=user.id,
        submission_key=submission_key,
        first_fill=first,
        expected_residual_ml=None
        if first
        else expected_residual_for(patient, row, entry.refill_date),
        **asdict(entry),
    )
    db.session.add(refill)
    db.session.flush()
    audit.record(
        "create",
        entity="refill",
        entity_id=refill.id,
        patient_id=patient.id,
        changes=audit.changed_fields(
            {}, {**asdict(entry), "expected_residual_ml": refill.expected_residual_ml}
        ),
    )
    return refill, True
