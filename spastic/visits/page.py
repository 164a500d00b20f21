"""What the visit screens show: form context, the read-only grid, conflict rows, labels."""

import json
from datetime import date

from spastic.clinical import scales
from spastic.extensions import db
from spastic.filters import datetime_local, time_local
from spastic.models import Draft, Visit, utcnow
from spastic.models.visits import AMEND_REASON_MAX
from spastic.patients.history import is_stale
from spastic.patients.regimen import regimen_of
from spastic.visits.content import (
    carried_grades,
    carried_in,
    content_of,
    effective_content,
    signed_visits,
)
from spastic.visits.labels import label_for
from spastic.visits.side_effects import side_effect_summary


def dose_on(patient, when: date | None) -> str:
    """The regimen in force on a date, in words ("60 mg/day oral + 200 mcg/day intrathecal")."""
    return regimen_of(patient, when or date.today()).label


def carried_for(draft: Draft) -> dict:
    """A new visit offers the last signed visit's grades; an edit keeps the grades it carried."""
    if draft.visit_id is None:
        return carried_grades(draft.patient)
    return carried_in(content_of(db.session.get(Visit, draft.visit_id)))


def form_context(form, draft: Draft, carried: dict | None = None) -> dict:
    patient = draft.patient
    visit_date = form.visit_date.data if form.visit_date.data else date.today()
    if carried is None:
        carried = carried_for(draft)
    return {
        "form": form,
        "draft": draft,
        "patient": patient,
        "carried": carried,
        "selected": set(form.muscles.data or ()),
        "dose": dose_on(patient, visit_date),
        "dose_date": visit_date,
        "muscles": scales.MUSCLES,
        "sides": scales.SIDES,
        "side_effect_codes": tuple(scales.SIDE_EFFECTS),
    }


def amend_context(form, visit: Visit, key: str, errors=None, reason: str = "") -> dict:
    return {
        "form": form,
        "visit": visit,
        "key": key,
        "errors": errors or {},
        "reason": reason,
        "reason_max": AMEND_REASON_MAX,
        "carried": {},
        "selected": set(form.muscles.data or ()),
        "muscles": scales.MUSCLES,
        "sides": scales.SIDES,
        "side_effect_codes": tuple(scales.SIDE_EFFECTS),
    }


def conflict_rows(stored: dict, posted: dict) -> list[dict]:
    """List the fields where the stored version and the user's version differ."""
    rows = []
    for key in sorted(set(stored) | set(posted)):
        if key.startswith("carry-"):
            continue
        theirs, yours = stored.get(key, []), posted.get(key, [])
        if sorted(theirs) != sorted(yours):
            rows.append(
                {
                    "label": label_for(key),
                    "theirs": ", ".join(theirs) or "—",
                    "yours": ", ".join(yours) or "—",
                }
            )
    return rows


def previous_signed(visit: Visit) -> Visit | None:
    """Return the last signed visit before this one (by date, then entry order)."""
    earlier = [
        v
        for v in signed_visits(visit.patient_id)
        if (v.visit_date, v.id) < (visit.visit_date, visit.id)
    ]
    return earlier[-1] if earlier else None


def status_words(visit: Visit) -> str:
    """Say what happened to a visit: "Signed 14:25 by Tess Mills on 1 Dec 2026" or
    "Visit saved 14:22, not signed." (times in the clinic's time zone)."""
    if visit.status == "signed":
        day = " ".join(datetime_local(visit.signed_at).split()[:3])
        return f"Signed {time_local(visit.signed_at)} by {visit.signed_by.name} on {day}"
    return f"Visit saved {time_local(visit.updated_at)}, not signed."


def draft_words(draft: Draft) -> str:
    """The patient page's line on a visit in progress: "Draft saved 14:22 (not yet a visit)",
    with the date when not saved today, and "Stale draft from 3 Nov 2026" when left behind."""
    saved = datetime_local(draft.updated_at)
    day = " ".join(saved.split()[:3])
    today = " ".join(datetime_local(utcnow()).split()[:3])
    by = f", by {draft.updated_by.name}" if draft.updated_by else ""
    at = time_local(draft.updated_at)
    if is_stale(draft):
        return f"Stale draft from {day} (not yet a visit), last saved at {at}{by}."
    return f"Draft saved {at if day == today else f'{day} {at}'} (not yet a visit){by}."


def discarded_message(row) -> str:
    """Say who discarded a draft or visit, when and why."""
    by = row.discarded_by.name if row.discarded_by else "Someone"
    what = "visit" if isinstance(row, Visit) else "visit in progress"
    return (
        f"This {what} was discarded by {by} on {datetime_local(row.discarded_at)}: "
        f"{row.discard_reason}."
    )


def grid_rows(content: dict, previous: dict | None) -> list[dict]:
    """Rows of muscle-sides with this visit's grade, the previous one and the change."""
    previous = previous or {}
    carried = carried_in(content)
    rows = []
    for muscle in scales.MUSCLES:
        for side in scales.SIDES:
            key = f"mas:{muscle.code}:{side}"
            if key not in content and key not in previous:
                continue
            now, before = content.get(key), previous.get(key)
            steps = None
            if now is not None and before is not None:
                steps = scales.mas_index(now) - scales.mas_index(before)
            rows.append(
                {
                    "label": f"{muscle.label} - {scales.SIDE_LABELS[side]}",
                    "now": now,
                    "before": before,
                    "steps": steps,
                    "judgement": _judgement(steps),
                    "carried_from": carried.get((muscle.code, side), (None, None))[1],
                }
            )
    return rows


MEASURES = (
    ("pain_now", "Pain now (0-10)"),
    ("pain_worst", "Worst pain, last 24 h (0-10)"),
    ("penn_frequency", "Penn spasm frequency"),
    ("penn_severity", "Spasm severity"),
)


def measure_rows(content: dict, previous: dict) -> list[dict]:
    """Pain, Penn and side effects of this visit beside the previous signed visit's."""
    rows = [
        {"key": key, "label": label, "now": content.get(key), "before": previous.get(key)}
        for key, label in MEASURES
    ]
    for code, label in scales.SIDE_EFFECTS.items():
        now, before = content.get(f"se:{code}"), previous.get(f"se:{code}")
        if now is not None or before is not None:
            rows.append(
                {"key": "se", "label": f"Side effect: {label}", "now": now, "before": before}
            )
    return rows


def _judgement(steps: int | None) -> str:
    # Responder per muscle: a change of at least 1 grade step (CLINICAL.md, NCT00432666).
    if steps is None:
        return ""
    return "improved" if steps <= -1 else "worsened" if steps >= 1 else "unchanged"


def visit_page_context(visit: Visit) -> dict:
    content = effective_content(visit)
    previous = previous_signed(visit)
    previous_content = effective_content(previous) if previous else None
    amendments = [
        {
            "amendment": a,
            "changes": [
                {"label": label_for(k), "old": old, "new": new}
                for k, (old, new) in json.loads(a.changes).items()
            ],
        }
        for a in visit.amendments
    ]
    return {
        "visit": visit,
        "patient": visit.patient,
        "status_words": status_words(visit),
        "content": content,
        "original": content_of(visit),
        "previous": previous,
        "previous_content": previous_content or {},
        "rows": grid_rows(content, previous_content),
        "measures": measure_rows(content, previous_content or {}),
        "dose": dose_on(visit.patient, visit.visit_date),
        "amendments": amendments,
        "tardieu": {k: v for k, v in content.items() if k.startswith("tardieu:") and v},
        "side_effects": side_effect_summary(content),
    }
