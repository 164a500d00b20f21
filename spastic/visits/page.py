"""What the visit screens show: form context, the read-only grid, conflict rows, labels."""

import json
from datetime import date

from spastic.clinical import scales
from spastic.models import Draft, Visit
from spastic.patients.regimen import regimen_of
from spastic.visits.content import carried_grades, content_of, effective_content, signed_visits
from spastic.visits.labels import label_for
from spastic.visits.side_effects import side_effect_summary


def dose_on(patient, when: date | None) -> str:
    """The regimen in force on a date, in words ("60 mg/day oral + 200 mcg/day intrathecal")."""
    return regimen_of(patient, when or date.today()).label


def form_context(form, draft: Draft) -> dict:
    patient = draft.patient
    visit_date = form.visit_date.data if form.visit_date.data else date.today()
    carried = carried_grades(patient) if draft.visit_id is None else {}
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


def grid_rows(content: dict, previous: dict | None) -> list[dict]:
    """Rows of muscle-sides with this visit's grade, the previous one and the change."""
    previous = previous or {}
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
                }
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
        "content": content,
        "original": content_of(visit),
        "previous": previous,
        "rows": grid_rows(content, previous_content),
        "dose": dose_on(visit.patient, visit.visit_date),
        "amendments": amendments,
        "tardieu": {k: v for k, v in content.items() if k.startswith("tardieu:") and v},
        "side_effects": side_effect_summary(content),
    }
