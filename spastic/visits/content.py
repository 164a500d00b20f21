"""A visit's content as one flat dict: for hashing, diffs, amendments and scoring input.

Keys: visit_date, rater, pain_now, pain_worst, penn_frequency, penn_severity, adherence, notes,
"mas:<muscle>:<side>" (grade or None), "tardieu:<muscle>:<side>" ("r1=40,r2=90,quality=2,
velocity=V3"), "se:<code>" (severity), side_effect_other_detail, and "carried:<muscle>:<side>"
(the ISO date of the signed visit a grade was kept from, not re-examined). The carried key is
present only for carried grades, so the content (and hash) of a visit with none - every visit
signed before grades had a provenance - is what it always was.
"""

import json

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from spastic.clinical import scales
from spastic.clinical.records import VisitRecord
from spastic.extensions import db
from spastic.models import Amendment, MasScore, Patient, Visit

TARDIEU_PARTS = ("r1", "r2", "quality", "velocity")
# Load what `content_of` reads in four queries in all, not four per visit.
WITH_CONTENT = (
    selectinload(Visit.mas_scores),
    selectinload(Visit.tardieu_scores),
    selectinload(Visit.side_effects),
    selectinload(Visit.amendments),
)
SCALAR_FIELDS = (
    "visit_date",
    "rater",
    "pain_now",
    "pain_worst",
    "penn_frequency",
    "penn_severity",
    "adherence",
    "notes",
)


def content_of(visit: Visit, mas_scores=None) -> dict:
    """Return the visit's own stored content (amendments not applied); `mas_scores`, the
    grade rows just written (`records.apply_input`), spares reading them back."""
    content = {name: getattr(visit, name) for name in SCALAR_FIELDS}
    for score in visit.mas_scores if mas_scores is None else mas_scores:
        content[f"mas:{score.muscle}:{score.side}"] = score.grade
        if score.carried_from is not None:
            content[f"carried:{score.muscle}:{score.side}"] = score.carried_from.isoformat()
    for t in visit.tardieu_scores:
        parts = {p: getattr(t, p) for p in TARDIEU_PARTS}
        content[f"tardieu:{t.muscle}:{t.side}"] = ",".join(
            f"{k}={v}" for k, v in parts.items() if v is not None
        )
    for effect in visit.side_effects:
        content[f"se:{effect.code}"] = effect.severity
        if effect.code == "other" and effect.detail:
            content["side_effect_other_detail"] = effect.detail
    return content


def effective_content(visit: Visit, known_at=None) -> dict:
    """Return the content with every amendment applied in order (those made by `known_at`)."""
    return _amended(content_of(visit), visit, known_at)


def _amended(content: dict, visit: Visit, known_at=None) -> dict:
    return _apply(content, visit.amendments, known_at)


def _apply(content: dict, amendments, known_at=None) -> dict:
    """Apply amendments (each with its JSON `changes`, in order) to a content dict."""
    for amendment in amendments:
        if known_at is not None and amendment.created_at > known_at:
            continue
        for key, (_old, new) in json.loads(amendment.changes).items():
            content[key] = new
            if key.startswith("carried:") and new is None:  # re-examined in the amendment
                del content[key]
    return content


def carried_in(content: dict) -> dict:
    """Map (muscle, side) to (grade, date) for the grades a visit carried forward unexamined."""
    found = {}
    for key, when in content.items():
        if key.startswith("carried:") and when:
            _, muscle, side = key.split(":")
            grade = content.get(f"mas:{muscle}:{side}")
            if grade is not None:
                found[(muscle, side)] = (grade, _as_date(when))
    return found


def tardieu_parts(text: str | None) -> dict:
    """Parse "r1=40,r2=90,quality=2,velocity=V3" back into its parts."""
    return dict(item.split("=", 1) for item in (text or "").split(",") if "=" in item)


def payload_from_content(content: dict) -> dict:
    """Turn a visit's content back into form data (to edit or amend it)."""
    payload: dict = {"muscles": sorted({k.split(":")[1] for k in content if k.startswith("mas:")})}
    for name in (*SCALAR_FIELDS, "side_effect_other_detail"):
        value = content.get(name)
        if value is not None:
            payload[name] = [value.isoformat() if hasattr(value, "isoformat") else str(value)]
    for key, value in content.items():
        kind, _, rest = key.partition(":")
        if kind == "mas" and value is not None:
            payload["mas-" + rest.replace(":", "-")] = [value]
        elif kind == "tardieu":
            for part, part_value in tardieu_parts(value).items():
                payload[f"tardieu-{rest.replace(':', '-')}-{part}"] = [part_value]
        elif kind == "se":
            payload[f"se-{rest}"] = [value]
        elif kind == "carried" and value:
            payload["carry-" + rest.replace(":", "-")] = ["kept"]
    return payload


def as_record(visit: Visit, known_at=None) -> VisitRecord:
    """Hand a visit (with amendments applied, those made by `known_at`) to the pure scoring."""
    content = effective_content(visit, known_at)
    grades = {}
    side_effects = {}
    for key, value in content.items():
        if key.startswith("mas:"):
            _, muscle, side = key.split(":")
            grades[(muscle, side)] = value
        elif key.startswith("se:") and value:
            side_effects[key[3:]] = value
    return VisitRecord(
        visit_id=visit.id,
        visit_date=_as_date(content["visit_date"]),
        rater=content["rater"],
        grades=grades,
        pain_now=_as_int(content["pain_now"]),
        pain_worst=_as_int(content["pain_worst"]),
        penn_frequency=_as_int(content["penn_frequency"]),
        penn_severity=_as_int(content["penn_severity"]),
        side_effects=side_effects,
        adherence=content["adherence"],
    )


def signed_visits(patient_id: int) -> list[Visit]:
    """Return a patient's signed visits in date order (same day: in order of entry)."""
    return db.session.scalars(
        select(Visit)
        .where(Visit.patient_id == patient_id, Visit.status == "signed")
        .order_by(Visit.visit_date, Visit.id)
        .options(*WITH_CONTENT)
    ).all()


def carried_grades(patient: Patient) -> dict:
    """Map (muscle, side) to (grade, date) from the last signed visit, for carry-forward."""
    # One query of plain rows: only the grades and the amendments (which may correct a grade)
    # are offered, so neither the visit nor its 24 or so score rows need be ORM objects.
    last = (
        select(Visit.id, Visit.visit_date)
        .where(Visit.patient_id == patient.id, Visit.status == "signed")
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .limit(1)
        .subquery()
    )
    rows = db.session.execute(
        select(
            last.c.visit_date,
            MasScore.muscle,
            MasScore.side,
            MasScore.grade,
            Amendment.id.label("amendment_id"),
            Amendment.changes,
        )
        .select_from(last)
        .outerjoin(MasScore, MasScore.visit_id == last.c.id)
        .outerjoin(Amendment, Amendment.visit_id == last.c.id)
        .order_by(MasScore.id, Amendment.id)
    ).all()
    if not rows:
        return {}
    grades = {f"mas:{r.muscle}:{r.side}": r.grade for r in rows if r.muscle is not None}
    amendments = {r.amendment_id: r for r in rows if r.amendment_id is not None}
    content = _apply(grades, [amendments[key] for key in sorted(amendments)])
    carried = {}
    for key, grade in content.items():
        if key.startswith("mas:") and grade is not None:
            _, muscle, side = key.split(":")
            if muscle in scales.MUSCLE_BY_CODE:
                carried[(muscle, side)] = (grade, rows[0].visit_date)
    return carried


def _as_int(value) -> int | None:
    return None if value is None else int(value)


def _as_date(value):
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(value)
