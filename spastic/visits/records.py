"""Writing visits: drafts, saving once per submission, the content hash - all audited.

Signing and amending are in `signing`, discarding in `discards`.
"""

import hashlib
import json
import secrets
from dataclasses import asdict
from datetime import date

from blinker import Namespace
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from spastic import audit
from spastic.extensions import db
from spastic.models import (
    Draft,
    MasScore,
    Patient,
    SideEffect,
    TardieuScore,
    User,
    Visit,
    utcnow,
)
from spastic.patients.history import open_draft_of
from spastic.visits.content import (
    carried_grades,
    content_of,
    effective_content,
    payload_from_content,
)
from spastic.visits.forms import VisitInput, carry_name, draft_problems, mas_name
from spastic.visits.muscles import first_selection, remember_usual_set

# Sent (with visit_id) once a signature or an amendment is committed: the reports package
# stores the summary PDF of that version then, so no download ever writes (a GET never does).
summary_due = Namespace().signal("summary-due")


class VersionConflict(Exception):
    """Someone saved the same record since this form was loaded."""

    def __init__(self, stored_payload: dict, saved_by: str, saved_at):
        super().__init__("version conflict")
        self.stored_payload = stored_payload
        self.saved_by = saved_by
        self.saved_at = saved_at


class DraftRefused(Exception):
    """The form as posted passes a field limit of the visit form: it is not stored."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("draft refused")
        self.problems = problems


class SignedMeanwhile(VersionConflict):
    """The visit being edited was signed since the edit began: changes now go in an amendment."""

    def __init__(self, visit: Visit):
        super().__init__(_payload_from_visit(visit), _name(visit.signed_by), visit.signed_at)
        self.visit_id = visit.id


def edit_conflict(draft: Draft) -> VersionConflict | None:
    """For a draft editing a saved visit: lock the visit, and say whether it was signed or
    changed since the draft began (None for a new visit, or when nothing happened)."""
    if draft.visit_id is None:
        return None
    visit = db.session.get(Visit, draft.visit_id, with_for_update=True, populate_existing=True)
    if visit.status != "draft":
        return SignedMeanwhile(visit)
    if visit.version != draft.base_version:
        conflict = VersionConflict(
            _payload_from_visit(visit), _name(visit.therapist), visit.updated_at
        )
        draft.base_version = visit.version  # shown the differences, the next Save keeps yours
        return conflict
    return None


def open_draft(patient: Patient, user: User) -> Draft:
    """Return the patient's visit in progress, or start one from the last signed visit."""
    # Two tablets opening the same patient at once must share one draft (PostgreSQL row lock;
    # SQLite transactions are already serial).
    db.session.refresh(patient, with_for_update=True)
    draft = open_draft_of(patient.id)
    if draft is None:
        draft = Draft(
            patient_id=patient.id,
            user_id=user.id,
            updated_by_id=user.id,
            submission_key=secrets.token_urlsafe(24),
            payload=json.dumps(_new_visit_payload(patient, user)),
        )
        db.session.add(draft)
        db.session.flush()
        audit.record("create", entity="draft", entity_id=draft.id, patient_id=patient.id)
    return draft


def draft_for_edit(visit: Visit, user: User) -> Draft:
    """Return the open draft editing an unsigned visit, or start one from its values."""
    draft = db.session.scalar(
        select(Draft).where(
            Draft.visit_id == visit.id,
            Draft.consumed_at.is_(None),
            Draft.discarded_at.is_(None),
        )
    )
    if draft is None:
        draft = Draft(
            patient_id=visit.patient_id,
            user_id=user.id,
            updated_by_id=user.id,
            visit_id=visit.id,
            base_version=visit.version,
            submission_key=secrets.token_urlsafe(24),
            payload=json.dumps(_payload_from_visit(visit)),
        )
        db.session.add(draft)
        db.session.flush()
    return draft


def check_version(draft: Draft, posted_version: int | None) -> None:
    """Raise VersionConflict unless the form was based on the draft as it is now."""
    if posted_version != draft.version:
        raise VersionConflict(json.loads(draft.payload), _name(draft.updated_by), draft.updated_at)


def save_draft(draft: Draft, payload: dict, posted_version: int | None, user: User) -> None:
    """Store the form as it is now; refuse if someone else saved since `posted_version`,
    or if a field passes the form's limits (the draft then keeps what it had)."""
    problems = draft_problems(payload)
    if problems:
        raise DraftRefused(problems)
    check_version(draft, posted_version)
    draft.payload = json.dumps(payload)
    draft.updated_at = utcnow()
    draft.updated_by_id = user.id
    db.session.flush()


def kept_carried(form, carried: dict) -> dict:
    """Map (muscle, side) to the date of the grade carried forward and kept as it was.

    `carried` maps (muscle, side) to (grade, date) as the form offered it; a row counts as
    carried only if it was kept and still holds that grade: a changed grade was examined today.
    """
    return {
        (muscle, side): when
        for (muscle, side), (grade, when) in carried.items()
        if form[carry_name(muscle, side)].data == "kept"
        and form[mas_name(muscle, side)].data == grade
    }


def submit(
    draft: Draft, visit_input: VisitInput, user: User, carried_from: dict | None = None
) -> Visit:
    """Create (or update, for an edit draft) the visit; a resend returns the same visit."""
    if draft.visit_id is not None:
        conflict = edit_conflict(draft)
        if conflict is not None:
            raise conflict
        visit = db.session.get(Visit, draft.visit_id)
        before = content_of(visit)
        grades = apply_input(visit, visit_input, carried_from)
        changes = audit.changed_fields(before, content_of(visit, grades))
        if changes:  # an UPDATE of the visit row bumps its version, even if only grades changed
            visit.updated_at = utcnow()
        audit.record(
            "update",
            entity="visit",
            entity_id=visit.id,
            patient_id=visit.patient_id,
            changes=changes,
        )
    else:
        visit = Visit(
            patient_id=draft.patient_id,
            therapist_id=user.id,
            submission_key=draft.submission_key,
            status="draft",
        )
        db.session.add(visit)
        grades = apply_input(visit, visit_input, carried_from)
        db.session.flush()
        audit.record(
            "create",
            entity="visit",
            entity_id=visit.id,
            patient_id=visit.patient_id,
            changes=audit.changed_fields({}, content_of(visit, grades)),
        )
    draft.consumed_at = utcnow()
    draft.visit_id = visit.id
    remember_usual_set(visit.patient, visit_input.muscles)
    db.session.flush()
    return visit


def visit_by_key(submission_key: str) -> Visit | None:
    return db.session.scalar(select(Visit).where(Visit.submission_key == submission_key))


def submit_once(
    draft: Draft, visit_input: VisitInput, user: User, carried_from: dict | None = None
) -> int:
    """Submit and commit; return the visit's id. A concurrent duplicate loses the race and
    gets the winner's visit. (The id is taken before the commit, which expires the visit:
    reading it after would load the visit again in a new transaction.)"""
    key = draft.submission_key
    try:
        visit_id = submit(draft, visit_input, user, carried_from).id
        db.session.commit()
        return visit_id
    except IntegrityError:
        db.session.rollback()
        visit = visit_by_key(key)
        if visit is None:
            raise
        return visit.id


def content_hash(content: dict) -> str:
    """Hash a visit's content in a canonical form (sorted keys, ISO dates)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply_input(visit: Visit, data: VisitInput, carried_from: dict | None = None) -> list:
    """Set the visit's answers and grade rows; return the grade rows as written (for
    `content_of`: a stored visit's rows go in directly, its collection is read when next used)."""
    visit.visit_date = data.visit_date
    visit.rater = data.rater
    visit.pain_now, visit.pain_worst = data.pain_now, data.pain_worst
    visit.penn_frequency, visit.penn_severity = data.penn_frequency, data.penn_severity
    visit.adherence = data.adherence
    visit.notes = data.notes
    if visit.id is not None:  # an edit: remove the old rows first, they share unique keys
        visit.mas_scores, visit.tardieu_scores, visit.side_effects = [], [], []
        db.session.flush()
    visit.tardieu_scores = [TardieuScore(**asdict(t)) for t in data.tardieu]
    visit.side_effects = [
        SideEffect(
            code=code,
            severity=severity,
            detail=data.side_effect_other_detail if code == "other" else "",
        )
        for code, severity in data.side_effects
    ]
    carried_from = carried_from or {}
    grades = [
        {
            "muscle": m,
            "side": s,
            "grade": g,
            "rater": data.rater,
            "carried_from": carried_from.get((m, s)) if g is not None else None,
        }
        for m, s, g in data.grades
    ]
    if visit not in db.session or not grades:  # a probe (see signing) or no grades
        visit.mas_scores = [MasScore(**g) for g in grades]
        return visit.mas_scores
    # A stored visit's grades go in one statement (the ORM sends one a row on SQLite, to learn
    # each id); the collection is read back when next used.
    db.session.flush()
    db.session.execute(insert(MasScore.__table__), [{**g, "visit_id": visit.id} for g in grades])
    db.session.expire(visit, ["mas_scores"])
    return [MasScore(**g) for g in grades]  # unattached: what `content_of` reads of each


def _new_visit_payload(patient: Patient, user: User) -> dict:
    usual = first_selection(patient)
    payload: dict = {
        "visit_date": [date.today().isoformat()],
        "rater": [user.name],
        "muscles": list(usual),
    }
    for (muscle, side), (grade, _when) in carried_grades(patient).items():
        payload[mas_name(muscle, side)] = [grade]
        payload[carry_name(muscle, side)] = ["pending"]
    return payload


def _payload_from_visit(visit: Visit) -> dict:
    return payload_from_content(content_of(visit))


def payload_for_amendment(visit: Visit) -> dict:
    """Form data of a signed visit as it stands with its amendments, to correct it."""
    return payload_from_content(effective_content(visit))


def _name(user: User | None) -> str:
    return user.name if user else "Someone"
