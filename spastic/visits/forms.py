"""The visit form: every muscle-side as a radio group; hands the domain a frozen VisitInput.

The form always holds all usual muscles; the `muscles` selection decides which rows are shown
and stored, so the therapist can add or remove muscles without losing what was entered.
"""

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import DateField, HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from spastic.clinical import scales
from spastic.fields import CheckboxList, choices


def _text_or_none(value):
    return None if value in (None, "") else str(value)


class ButtonChoice(RadioField):
    """Large radio buttons. Empty means not recorded; anything off the list is refused."""

    def __init__(self, label, options: dict, invalid_message: str, **kwargs):
        made, allowed = _choices_of(options)
        super().__init__(label, choices=made, coerce=_text_or_none, validate_choice=False, **kwargs)
        self.allowed = allowed
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        self.data = _text_or_none(valuelist[0]) if valuelist else None

    def pre_validate(self, form):
        if self.data is not None and self.data not in self.allowed:
            raise ValidationError(self.invalid_message)

    def options_html(self) -> Markup:
        """The options as `_macros.html` `field` writes them (`<label class="choice">` around
        `option()` and its label), byte for byte, without a WTForms widget call per option:
        the visit form has over 500 of them."""
        options = _option_html(self.id, self.name, tuple((c.value, c.label) for c in self.choices))
        return Markup("").join(
            checked if _text_or_none(value) == self.data else plain
            for value, plain, checked in options
        )


_OPTION = Markup(
    '\n      <label class="choice"><input {}id="{}" name="{}" type="radio" value="{}">'
    "<span>{}</span></label>"
)


@lru_cache(maxsize=2048)
def _option_html(field_id: str, name: str, options: tuple) -> tuple[tuple[str, Markup, Markup]]:
    """(value, unchecked HTML, checked HTML) per option, as WTForms' RadioInput renders them
    (attributes sorted, values escaped) inside the macro's label."""
    return tuple(
        (
            value,
            _OPTION.format("", f"{field_id}-{index}", name, value, label),
            _OPTION.format(Markup("checked "), f"{field_id}-{index}", name, value, label),
        )
        for index, (value, label) in enumerate(options)
    )


_CHOICES: dict[int, tuple] = {}


def _choices_of(options: dict) -> tuple[list, frozenset]:
    """The choices and allowed values of a ButtonChoice's options, made once per options dict
    (each is made once, with the form class, and bound about 100 times per visit form)."""
    known = _CHOICES.get(id(options))
    if known is None or known[0] is not options:
        known = _CHOICES[id(options)] = (options, choices(options), frozenset(options))
    return known[1], known[2]


GRADE_MESSAGE = "Choose a grade from 0, 1, 1+, 2, 3 or 4, or leave the row empty."
PAIN_MESSAGE = "Pain is rated from 0 (none) to 10 (worst imaginable)."
PAIN_OPTIONS = {str(n): str(n) for n in scales.PAIN_SCORES}


def mas_name(muscle: str, side: str) -> str:
    return f"mas-{muscle}-{side}"


def carry_name(muscle: str, side: str) -> str:
    return f"carry-{muscle}-{side}"


def tardieu_name(muscle: str, side: str, part: str) -> str:
    return f"tardieu-{muscle}-{side}-{part}"


ALL_MUSCLES = frozenset(m.code for m in scales.MUSCLES)


class BaseVisitForm(FlaskForm):
    visit_date = DateField(
        "Visit date", validators=[InputRequired("Enter the visit date.")], format="%Y-%m-%d"
    )
    rater = StringField(
        "Rater", validators=[DataRequired("Enter who rated the muscles."), Length(max=120)]
    )
    muscles = CheckboxList(
        "Muscles assessed", choices=choices({m.code: m.label for m in scales.MUSCLES})
    )
    pain_now = ButtonChoice("Pain now", {str(n): str(n) for n in scales.PAIN_SCORES}, PAIN_MESSAGE)
    pain_worst = ButtonChoice(
        "Worst pain in the last 24 hours",
        {str(n): str(n) for n in scales.PAIN_SCORES},
        PAIN_MESSAGE,
    )
    penn_frequency = ButtonChoice(
        "Penn spasm frequency",
        {str(k): f"{k} · {v}" for k, v in scales.PENN_FREQUENCY.items()},
        "Choose a spasm frequency from 0 to 4.",
    )
    penn_severity = ButtonChoice(
        "Spasm severity",
        {str(k): f"{k} · {v}" for k, v in scales.PENN_SEVERITY.items()},
        "Choose a spasm severity from 1 to 3.",
        description="Only when spasms occur (frequency above 0).",
    )
    adherence = ButtonChoice(
        "Taking baclofen", scales.ADHERENCE, "Choose one of the adherence options."
    )
    side_effect_other_detail = StringField("Other side effect", validators=[Length(max=200)])
    notes = TextAreaField("Notes", validators=[Length(max=5000)])

    def validate_visit_date(self, field):
        if field.data and field.data > date.today():
            raise ValidationError("The visit date cannot be in the future.")

    def validate_penn_severity(self, field):
        if field.data is not None and (self.penn_frequency.data in (None, "0")):
            raise ValidationError(
                "Severity is recorded only when spasms occur: clear the severity, "
                "or set a frequency above 0."
            )


@lru_cache(maxsize=64)
def visit_form_class(muscles: frozenset = ALL_MUSCLES, side_effects: bool = True) -> type:
    """The visit form with the fields of `muscles` (and of the side effects, or not).

    Only showing a stored draft uses fewer than all (`fragments.DraftParts`: the parts already
    rendered need no fields); everything that validates input uses `VisitForm`, all fields."""
    attrs = {}
    grade_options = {g: g for g in scales.MAS_GRADES}
    for muscle in (m for m in scales.MUSCLES if m.code in muscles):
        for side in scales.SIDES:
            label = f"{muscle.label} - {scales.SIDE_LABELS[side]}"
            attrs[mas_name(muscle.code, side)] = ButtonChoice(label, grade_options, GRADE_MESSAGE)
            attrs[carry_name(muscle.code, side)] = HiddenField()
            angle = [Optional(), NumberRange(0, 180, "Give the angle in degrees, 0 to 180.")]
            attrs[tardieu_name(muscle.code, side, "r1")] = IntegerField(
                "R1 (angle of catch, °)", validators=angle
            )
            attrs[tardieu_name(muscle.code, side, "r2")] = IntegerField(
                "R2 (passive range, °)", validators=angle
            )
            attrs[tardieu_name(muscle.code, side, "quality")] = ButtonChoice(
                "Quality of reaction (X)",
                {str(k): str(k) for k in scales.TARDIEU_QUALITY},
                "Choose a quality from 0 to 5.",
            )
            attrs[tardieu_name(muscle.code, side, "velocity")] = ButtonChoice(
                "Velocity", scales.TARDIEU_VELOCITIES, "Choose V1, V2 or V3."
            )
    for code, label in scales.SIDE_EFFECTS.items() if side_effects else ():
        attrs[f"se-{code}"] = ButtonChoice(
            label,
            {s: s.capitalize() for s in scales.SIDE_EFFECT_SEVERITIES},
            "Choose none, mild, moderate or severe.",
        )
    return type("VisitForm", (BaseVisitForm,), attrs)


VisitForm = visit_form_class()


def _text_limits() -> dict[str, tuple[str, int]]:
    """Map each text field of the visit form to its label and its Length maximum."""
    limits = {}
    for name in dir(VisitForm):
        unbound = getattr(VisitForm, name)
        if isinstance(unbound, UnboundField):
            for validator in unbound.kwargs.get("validators", ()):
                if isinstance(validator, Length) and validator.max > 0:
                    limits[name] = (unbound.args[0], validator.max)
    return limits


TEXT_LIMITS = _text_limits()
# Every other field holds a code, a grade, an angle or a date: none is near this long, so a
# longer value is never a valid answer and is not worth keeping in a draft either.
SHORT_VALUE_MAX = 40
NAME_MAX = 100


def draft_problems(payload: dict[str, list[str]]) -> dict[str, str]:
    """Return, per field, why the form as posted may not be kept as a draft (the same length
    limits as the submitted form); empty when it may."""
    problems = {}
    for name, values in payload.items():
        longest = max((len(v) for v in values), default=0)
        if name in TEXT_LIMITS:
            label, most = TEXT_LIMITS[name]
            if longest > most:
                problems[name] = (
                    f"{label} can hold at most {most} characters; this has {longest}. "
                    "Shorten it to save."
                )
        elif len(name) > NAME_MAX or longest > SHORT_VALUE_MAX:
            problems[name[:NAME_MAX]] = "This answer is not one the form offers."
    return problems


@dataclass(frozen=True)
class TardieuInput:
    muscle: str
    side: str
    r1: int | None
    r2: int | None
    quality: int | None
    velocity: str | None


@dataclass(frozen=True)
class VisitInput:
    visit_date: date
    rater: str
    muscles: tuple[str, ...]
    grades: tuple[tuple[str, str, str | None], ...]  # (muscle, side, grade or None)
    tardieu: tuple[TardieuInput, ...]
    pain_now: int | None
    pain_worst: int | None
    penn_frequency: int | None
    penn_severity: int | None
    side_effects: tuple[tuple[str, str], ...]  # (code, severity) for answered rows
    side_effect_other_detail: str
    adherence: str | None
    notes: str


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class ErrorGroup:
    """One problem shared by several fields: one line of the error summary (`_macros.html`)."""

    message: str
    fields: tuple[str, ...]  # the fields' names (= ids), in form order
    field_message: str  # the message each field shows beside it


def check_carried(form, carried: dict) -> bool:
    """Refuse grades carried forward that were neither kept, cleared nor changed today.

    `carried` maps (muscle, side) to (grade, visit date) from the last signed visit. Each
    such field gets its message; the error summary names them once (`form.error_groups`).
    """
    pending = []
    selected = set(form.muscles.data or ())
    for muscle in scales.MUSCLES:
        for side in scales.SIDES:
            grade, when = carried.get((muscle.code, side), (None, None))
            if muscle.code not in selected or grade is None:
                continue
            state = form[carry_name(muscle.code, side)].data or "pending"
            if state == "pending" and form[mas_name(muscle.code, side)].data == grade:
                pending.append((form[mas_name(muscle.code, side)], when))
    groups = {}
    for field, when in pending:
        day = f"{when:%-d %b}"
        message = f"Keep or clear the grade carried from {day}."
        field.errors = [*field.errors, message]
        groups.setdefault((day, message), []).append(field.name)
    form.error_groups = [
        ErrorGroup(
            f"Keep or clear the {len(names)} grades carried from {day}."
            if len(names) > 1
            else f"{form[names[0]].label.text}: {message}",
            tuple(names),
            message,
        )
        for (day, message), names in groups.items()
    ]
    return not pending


def as_visit_input(form) -> VisitInput:
    """Hand the validated form to the domain: only selected muscles, cleared carries dropped."""
    muscles = tuple(m.code for m in scales.MUSCLES if m.code in set(form.muscles.data or ()))
    grades, tardieu = [], []
    for muscle in muscles:
        for side in scales.SIDES:
            cleared = form[carry_name(muscle, side)].data == "cleared"
            grade = None if cleared else form[mas_name(muscle, side)].data
            grades.append((muscle, side, grade))
            parts = {p: form[tardieu_name(muscle, side, p)].data for p in ("r1", "r2")}
            quality = form[tardieu_name(muscle, side, "quality")].data
            velocity = form[tardieu_name(muscle, side, "velocity")].data
            if any(v is not None for v in (*parts.values(), quality, velocity)):
                tardieu.append(
                    TardieuInput(muscle, side, parts["r1"], parts["r2"], _int(quality), velocity)
                )
    side_effects = tuple(
        (code, form[f"se-{code}"].data)
        for code in scales.SIDE_EFFECTS
        if form[f"se-{code}"].data is not None
    )
    return VisitInput(
        visit_date=form.visit_date.data,
        rater=form.rater.data.strip(),
        muscles=muscles,
        grades=tuple(grades),
        tardieu=tuple(tardieu),
        pain_now=_int(form.pain_now.data),
        pain_worst=_int(form.pain_worst.data),
        penn_frequency=_int(form.penn_frequency.data),
        penn_severity=_int(form.penn_severity.data),
        side_effects=side_effects,
        side_effect_other_detail=(form.side_effect_other_detail.data or "").strip(),
        adherence=form.adherence.data,
        notes=(form.notes.data or "").strip(),
    )
