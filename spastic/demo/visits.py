"""Signed demo visits over months for every demo patient, consistent with their dose histories.

The plans live in demo_visits.json, one per MRN of demo_patients.json, with a line saying
what each shows (responders, a patient who stops responding, one who does not respond,
drowsiness first reported after an increase, a visit by another rater). Deterministic: each
plan has a baseline grade per muscle-side and, at each visit, a "relief" in grade steps below
baseline. Days are counted back from the day of seeding, like the doses, so every visit is on
or before that day.
"""

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from spastic import audit
from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import MasScore, Patient, SideEffect, User, Visit, utcnow
from spastic.visits.content import content_of
from spastic.visits.records import content_hash

PLANS_FILE = Path(__file__).with_name("demo_visits.json")
SIGNATURE_MEANING = "I performed and recorded this assessment"


def load_plans() -> dict[str, dict]:
    """Return the visit plans by MRN."""
    return json.loads(PLANS_FILE.read_text(encoding="utf-8"))


def add_demo_visits(users: Mapping[str, User], today: date) -> int:
    """Create the signed visits of every demo patient (the caller commits); return how many."""
    therapists = {u.clinic_id: u for u in users.values() if u.role == "therapist"}
    created = 0
    for mrn, plan in load_plans().items():
        patient = db.session.scalar(
            select(Patient).where(Patient.mrn == mrn, Patient.clinic_id.in_(therapists))
        )
        if patient is None:
            continue
        for index, planned in enumerate(plan["visits"]):
            visit_date = today - timedelta(days=planned["days_ago"])
            if visit_date <= today:
                _signed_visit(patient, therapists[patient.clinic_id], plan, index, visit_date)
                created += 1
        patient.usual_muscles = json.dumps(plan["muscles"])
    return created


def planned_grades(plan: dict, relief: int) -> list[tuple[str, str, str]]:
    """Return (muscle, side, grade) at a visit: the baseline less `relief` steps.

    One muscle-side in three moves a step less, so that not every side changes alike;
    grades stay within 0-4.
    """
    keys = [(m, s) for m in plan["muscles"] for s in plan["sides"]]
    grades = plan["baseline"].split()
    if len(grades) != len(keys):
        raise ValueError(f"{len(grades)} baseline grades for {len(keys)} muscle-sides")
    result = []
    for position, ((muscle, side), grade) in enumerate(zip(keys, grades, strict=True)):
        steps = relief - 1 if relief > 0 and position % 3 == 2 else relief
        index = min(max(scales.mas_index(grade) - steps, 0), len(scales.MAS_GRADES) - 1)
        result.append((muscle, side, scales.MAS_GRADES[index]))
    return result


def _signed_visit(
    patient: Patient, therapist: User, plan: dict, index: int, visit_date: date
) -> Visit:
    """Create one signed visit with its grades and side effects; audit its creation and signing."""
    planned = plan["visits"][index]
    rater = planned.get("rater") or therapist.name
    (pain_now, pain_worst), (penn_frequency, penn_severity) = planned["pain"], planned["penn"]
    visit = Visit(
        patient_id=patient.id,
        visit_date=visit_date,
        rater=rater,
        therapist_id=therapist.id,
        status="signed",
        submission_key=f"demo-visit-{patient.mrn}-{index}",
        pain_now=pain_now,
        pain_worst=pain_worst,
        penn_frequency=penn_frequency,
        penn_severity=penn_severity if penn_frequency else None,
        adherence=planned.get("adherence", "as_prescribed"),
        notes=planned.get("notes", ""),
        signed_by_id=therapist.id,
        signed_at=min(datetime.combine(visit_date, time(11, 30), UTC), utcnow()),
        signature_meaning=SIGNATURE_MEANING,
    )
    visit.mas_scores = [
        MasScore(muscle=m, side=s, grade=g, rater=rater)
        for m, s, g in planned_grades(plan, planned["relief"])
    ]
    visit.side_effects = [
        SideEffect(code=code, severity=severity)
        for code, severity in planned.get("side_effects", {}).items()
    ]
    db.session.add(visit)
    db.session.flush()
    _audit_signed(visit, therapist)
    return visit


def _audit_signed(visit: Visit, therapist: User) -> None:
    """Hash the signed content; audit the visit's creation and its signature, as capture does."""
    content = content_of(visit)
    visit.content_hash = content_hash(content)
    about = {"entity": "visit", "entity_id": visit.id, "patient_id": visit.patient_id}
    audit.record("create", **about, changes=audit.changed_fields({}, content), user=therapist)
    signature = {
        "status": ("draft", "signed"),
        "signature_meaning": (None, SIGNATURE_MEANING),
        "content_hash": (None, visit.content_hash),
    }
    audit.record("sign", **about, changes=signature, user=therapist)
