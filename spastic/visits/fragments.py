"""Rendered parts of the visit form kept for reuse: a muscle row is the same HTML whenever its
fields hold the same answers, errors and carried grades, so it is rendered once and reused.

The visit form has about 170 fields (every usual muscle, shown or hidden); rendering each through
the `field` macro on every request cost most of the page. The key holds everything the fragment's
HTML depends on: the template it came from (a reloaded template is a new object), and per field
its type, id, name, label, hint, data, shown value and errors; the caller adds the rest (the
muscle, whether it is selected, its carried grades). `tests/test_visit_fragments.py` checks
that the reused HTML equals a fresh render on random forms.
"""

from collections import OrderedDict
from threading import Lock

from flask import current_app
from markupsafe import Markup

MAX_FRAGMENTS = 4096  # about 2 kB each: a few MB at most, whatever the input

_fragments: OrderedDict = OrderedDict()
_lock = Lock()


def field_state(field) -> tuple:
    """What the `field` macro's output depends on, for one bound field."""
    shown = field._value() if hasattr(field, "_value") else None
    return (
        type(field),
        field.id,
        field.name,
        field.label.text,
        field.description,
        repr(field.data),
        shown,
        tuple(field.errors),
    )


def fragment(template: str, key: tuple, render) -> Markup:
    """The HTML `render()` gives for `key`, rendered once per key and template version."""
    full_key = _full_key((template, key))
    html = _cached(full_key)
    if html is not None:
        return html
    html = render()  # a macro's output: Markup already
    with _lock:
        _fragments[full_key] = html
        while len(_fragments) > MAX_FRAGMENTS:
            _fragments.popitem(last=False)
    return html


def clear() -> None:
    with _lock:
        _fragments.clear()


class DraftParts:
    """A stored draft shown as it was saved (no input validated, so no errors): each part's HTML
    then depends only on the stored answers of its fields, and the parts already rendered for
    those answers are taken (pinned) before the form is built, which then needs no fields for
    them (`forms.visit_form_class`)."""

    def __init__(self, payload: dict, carried: dict, muscles, sides, side_effect_codes):
        self.payload, self.carried = payload, carried
        self.selected = set(payload.get("muscles", ()))
        self.pinned = {}
        for muscle in muscles:
            html = _get(("visits/_grid.html", self._row_key(muscle, sides)))
            if html is not None:
                self.pinned[muscle.code] = html
        html = _get(("visits/_rest.html", self._rest_key(side_effect_codes)))
        if html is not None:
            self.pinned["rest"] = html
        self.missing_muscles = frozenset(m.code for m in muscles if m.code not in self.pinned)
        self.rest_missing = "rest" not in self.pinned

    def _raw(self, name: str) -> tuple:
        return tuple(self.payload.get(name, ()))

    def _row_key(self, muscle, sides) -> tuple:
        key = ["stored", tuple(sides), muscle.code, muscle.label, muscle.code in self.selected]
        for side in sides:
            key.append(self.carried.get((muscle.code, side)))
            key += (self._raw(f"{p}-{muscle.code}-{side}{s}") for p, s in _ROW_FIELDS)
        return tuple(key)

    def _rest_key(self, side_effect_codes) -> tuple:
        names = (*_REST_FIELDS, *(f"se-{code}" for code in side_effect_codes))
        return ("stored", tuple(side_effect_codes), *(self._raw(name) for name in names))

    def row(self, muscle, sides, render) -> Markup:
        if muscle.code in self.pinned:
            return self.pinned[muscle.code]
        return fragment("visits/_grid.html", self._row_key(muscle, sides), render)

    def meta(self, render, muscle_count: int) -> Markup:
        """The visit's date, rater and muscles (`visits/form.html`)."""
        key = ("stored", "meta", muscle_count, *map(self._raw, ("visit_date", "rater", "muscles")))
        return fragment("visits/form.html", key, render)

    def rest(self, side_effect_codes, render) -> Markup:
        if "rest" in self.pinned:
            return self.pinned["rest"]
        return fragment("visits/_rest.html", self._rest_key(side_effect_codes), render)


def _full_key(name_key: tuple) -> tuple:
    """A part's key with its template object (a reloaded template is a new one)."""
    template, key = name_key
    return current_app.jinja_env.get_template(template), key


def _get(name_key: tuple):
    return _cached(_full_key(name_key))


def _cached(full_key: tuple):
    with _lock:
        html = _fragments.get(full_key)
        if html is not None:
            _fragments.move_to_end(full_key)
        return html


def muscle_row(form, muscle, sides, carried: dict, selected, render, parts=None) -> Markup:
    """One muscle's row of the MAS grid (`visits/_grid.html`), reused while it is unchanged."""
    if parts is not None:
        return parts.row(muscle, sides, lambda: render(muscle))
    key = [muscle.code, muscle.label, muscle.code in selected]
    for side in sides:
        key.append(carried.get((muscle.code, side)))
        for prefix, suffix in _ROW_FIELDS:
            key.append(field_state(form[f"{prefix}-{muscle.code}-{side}{suffix}"]))
    return fragment("visits/_grid.html", (tuple(sides), *key), lambda: render(muscle))


def rest(form, side_effect_codes, render, parts=None) -> Markup:
    """Pain, spasms, side effects, adherence and notes (`visits/_rest.html`)."""
    if parts is not None:
        return parts.rest(side_effect_codes, render)
    names = (*_REST_FIELDS, *(f"se-{code}" for code in side_effect_codes))
    key = (tuple(side_effect_codes), *(field_state(form[name]) for name in names))
    return fragment("visits/_rest.html", key, render)


_REST_FIELDS = (
    "pain_now",
    "pain_worst",
    "penn_frequency",
    "penn_severity",
    "side_effect_other_detail",
    "adherence",
    "notes",
)
_ROW_FIELDS = (
    ("mas", ""),
    ("carry", ""),
    ("tardieu", "-r1"),
    ("tardieu", "-r2"),
    ("tardieu", "-quality"),
    ("tardieu", "-velocity"),
)
