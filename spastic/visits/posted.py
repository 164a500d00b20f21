"""Reading a posted visit form without binding the VisitForm's ~200 fields: the quick path of
a save whose every answer is one the form offers as it is.

`read` returns what `forms.as_visit_input` and `records.kept_carried` would give the VisitForm
for the same data, or None at the first doubt: a value the form would refuse, a carried grade
neither kept nor cleared, anything unusual (several values, an angle written " 40"). The view
then validates with the VisitForm exactly as before, which shows each message beside its field
and keeps the input. So this path never accepts what the VisitForm refuses, and gives the same
visit when it accepts (tests/test_posted_visit.py compares the two on generated forms); it only
spares setting up the fields when there is nothing to say about them.
"""

import re
from datetime import date

from flask import g
from flask_wtf import FlaskForm

from spastic.clinical import scales
from spastic.visits.forms import (
    PAIN_OPTIONS,
    TEXT_LIMITS,
    TardieuInput,
    VisitInput,
    carry_name,
    mas_name,
    tardieu_name,
)

_GRADES = frozenset(scales.MAS_GRADES)
_PAIN = frozenset(PAIN_OPTIONS)
_FREQUENCY = frozenset(str(k) for k in scales.PENN_FREQUENCY)
_SEVERITY = frozenset(str(k) for k in scales.PENN_SEVERITY)
_ADHERENCE = frozenset(scales.ADHERENCE)
_QUALITY = frozenset(str(k) for k in scales.TARDIEU_QUALITY)
_VELOCITY = frozenset(scales.TARDIEU_VELOCITIES)
_SIDE_EFFECT = frozenset(scales.SIDE_EFFECT_SEVERITIES)
_MUSCLE_CODES = frozenset(m.code for m in scales.MUSCLES)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ANGLE = re.compile(r"[0-9]{1,3}")
RATER_MAX, OTHER_DETAIL_MAX, NOTES_MAX = (
    TEXT_LIMITS[name][1] for name in ("rater", "side_effect_other_detail", "notes")
)


class _Doubt(Exception):
    """The VisitForm must judge this form (it may refuse it, or say something about it)."""


class _CsrfOnly(FlaskForm):
    """The VisitForm's CSRF check alone (same token field, secret, time limit, switch)."""


def read(formdata, carried: dict) -> tuple[VisitInput, dict] | None:
    """(the visit input, the carried grades kept) as the VisitForm would give them for
    `formdata`, or None when the VisitForm must validate it (see the module's docstring)."""
    if g.get("form_expired") or not _CsrfOnly(formdata=formdata).validate():
        return None
    try:
        return _read(formdata, carried)
    except _Doubt:
        return None


def _read(formdata, carried: dict) -> tuple[VisitInput, dict]:
    muscles_posted = formdata.getlist("muscles")
    if not _MUSCLE_CODES.issuperset(muscles_posted):
        raise _Doubt
    if any(m not in _MUSCLE_CODES or s not in scales.SIDES for m, s in carried):
        raise _Doubt
    selected = set(muscles_posted)
    muscles = tuple(m.code for m in scales.MUSCLES if m.code in selected)
    grades, tardieu, kept = [], [], {}
    for muscle in scales.MUSCLES:  # every muscle's fields are validated, shown or not
        for side in scales.SIDES:
            grade, carry, angles = _muscle_side(formdata, muscle.code, side)
            if (muscle.code, side) in carried:
                carried_grade, when = carried[(muscle.code, side)]
                if carry == "kept" and grade == carried_grade:
                    kept[(muscle.code, side)] = when
                left_pending = (carry or "pending") == "pending" and grade == carried_grade
                if left_pending and carried_grade is not None and muscle.code in selected:
                    raise _Doubt  # the form asks to keep or clear it
            if muscle.code in selected:
                grades.append((muscle.code, side, None if carry == "cleared" else grade))
                if any(v is not None for v in angles):
                    tardieu.append(TardieuInput(muscle.code, side, *angles))
    return _visit_input(formdata, muscles, tuple(grades), tuple(tardieu)), kept


def _muscle_side(formdata, muscle: str, side: str) -> tuple:
    """(grade, carry state, (r1, r2, quality, velocity)) of one muscle-side."""
    grade = _choice(formdata, mas_name(muscle, side), _GRADES)
    carry = _text(formdata, carry_name(muscle, side))
    r1 = _angle(formdata, tardieu_name(muscle, side, "r1"))
    r2 = _angle(formdata, tardieu_name(muscle, side, "r2"))
    quality = _choice(formdata, tardieu_name(muscle, side, "quality"), _QUALITY)
    velocity = _choice(formdata, tardieu_name(muscle, side, "velocity"), _VELOCITY)
    return grade, carry, (r1, r2, _int(quality), velocity)


def _visit_input(formdata, muscles, grades, tardieu) -> VisitInput:
    frequency = _choice(formdata, "penn_frequency", _FREQUENCY)
    severity = _choice(formdata, "penn_severity", _SEVERITY)
    if severity is not None and frequency in (None, "0"):
        raise _Doubt
    rater = _text(formdata, "rater")
    if rater is None or not rater.strip() or len(rater) > RATER_MAX:
        raise _Doubt
    side_effects = []
    for code in scales.SIDE_EFFECTS:
        severity_of_effect = _choice(formdata, f"se-{code}", _SIDE_EFFECT)
        if severity_of_effect is not None:
            side_effects.append((code, severity_of_effect))
    return VisitInput(
        visit_date=_visit_date(formdata),
        rater=rater.strip(),
        muscles=muscles,
        grades=grades,
        tardieu=tardieu,
        pain_now=_int(_choice(formdata, "pain_now", _PAIN)),
        pain_worst=_int(_choice(formdata, "pain_worst", _PAIN)),
        penn_frequency=_int(frequency),
        penn_severity=_int(severity),
        side_effects=tuple(side_effects),
        side_effect_other_detail=_limited(formdata, "side_effect_other_detail", OTHER_DETAIL_MAX),
        adherence=_choice(formdata, "adherence", _ADHERENCE),
        notes=_limited(formdata, "notes", NOTES_MAX),
    )


def _values(formdata, name: str) -> list[str]:
    values = formdata.getlist(name)
    if len(values) > 1:  # a browser sends one; the VisitForm decides what several mean
        raise _Doubt
    return values


def _text(formdata, name: str) -> str | None:
    values = _values(formdata, name)
    return values[0] if values else None


def _choice(formdata, name: str, allowed: frozenset) -> str | None:
    """A radio group's answer: absent or empty is not recorded; anything off the list a doubt."""
    value = _text(formdata, name)
    if value in (None, ""):
        return None
    if value not in allowed:
        raise _Doubt
    return value


def _angle(formdata, name: str) -> int | None:
    value = _text(formdata, name)
    if value is None or not value.strip():
        return None
    if not _ANGLE.fullmatch(value) or int(value) > 180:
        raise _Doubt
    return int(value)


def _limited(formdata, name: str, most: int) -> str:
    value = _text(formdata, name) or ""
    if len(value) > most:
        raise _Doubt
    return value.strip()


def _visit_date(formdata) -> date:
    value = _text(formdata, "visit_date") or ""
    if not _DATE.fullmatch(value):
        raise _Doubt
    try:
        visit_date = date.fromisoformat(value)
    except ValueError:
        raise _Doubt from None
    if visit_date > date.today():
        raise _Doubt
    return visit_date


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)
