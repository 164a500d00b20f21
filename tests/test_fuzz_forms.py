"""Hypothesis-generated posts to every form: never a 500, refusals say why, nothing leaks.

Each test builds one world (two clinics, signed and unsigned visits, drafts, an amendment) and
posts generated bodies to one form: valid values with a few fields spoiled (hostile text, huge
strings, numbers out of range, several values, missing), plus extra fields naming the other
clinic's ids and keys. Every example diffs the whole database before and after the post:

- a field value that the form must refuse (the oracle below) writes nothing;
- a re-shown form carries a message; a write only follows a redirect;
- every changed row is one the form may change, owned by the right clinic, patient and user,
  with the posted values - so extra fields (clinic_id, signed_at, ...) were ignored;
- no row of the other clinic ever changes.

SPASTIC_FUZZ_EXAMPLES sets the examples per form (200 by default; `make fuzz` runs 2000).
"""

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from spastic import create_app
from spastic.accounts import passwords
from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import ROLES, Base, Draft, Patient, Visit
from spastic.models.visits import AMEND_REASON_MAX
from spastic.visits.content import SCALAR_FIELDS
from spastic.visits.page import conflict_rows
from spastic.visits.signing import SIGNATURE_MEANINGS
from tests.conftest import (
    CHEAP_HASHER,
    PASSWORD,
    PASSWORD_HASH,
    _test_config,
    build_clinic_world,
    create_patient,
    load_sqlite_template,
)
from tests.test_visits import _hidden, _start, _visit_data

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("SPASTIC_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
TODAY = date.today()
TABLES = (  # every table a form may write; audit and login sessions are other tests' business
    *("clinic", "user_account", "patient", "care_team", "dose_change", "visit", "mas_score"),
    *("tardieu_score", "side_effect", "amendment", "draft", "share_link"),
)
# A field's error, the error summary, an error flash, the conflict notice or the error page.
MESSAGE = re.compile(
    r'class="(?:error|error-summary|flash flash-error)"|id="conflict"|<a class="button" href="/">'
)
MISSING = object()


# `make test` fuzzes on SQLite to keep time down; `make fuzz` also on PostgreSQL.
DATABASES_HERE = os.environ.get("SPASTIC_FUZZ_DATABASES", "sqlite").split(",")


@pytest.fixture(autouse=True)
def _fixture_cost_hashing(monkeypatch):
    """Argon2id at the fixture users' cost (tests/conftest.py) while fuzzing.

    At the production cost every new user, new password and unknown email (the dummy hash) of
    an example spends about 0.2 s of CPU in argon2; that was most of the login, new-user and
    change-password runs. The code paths are the same (`hash_password`, `verify_password`,
    the dummy hash for an unknown account); what the fuzzing checks is the forms' answers and
    the rows they write, not the cost. Every other module hashes at the library's parameters.
    """
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)
    dummy = CHEAP_HASHER.hash("not-a-real-password-for-timing")
    monkeypatch.setattr(passwords, "_DUMMY_HASH", dummy)


# --- the world the posts aim at ----------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """An id or key of the world, filled in when the body is posted."""

    name: str


@dataclass
class World:
    app: object
    ids: dict
    clients: dict
    other_rows: dict = field(default_factory=dict)

    def value(self, name: str):
        dynamic = {
            "patient_version": lambda: self._column(Patient.version, self.ids["home_patient"]),
            "draft_version": lambda: self._column(Draft.version, self.ids["draft"]),
            "draft_key": lambda: self._column(Draft.submission_key, self.ids["draft"]),
            "visit_version": lambda: self._column(Visit.version, self.ids["home_unsigned"]),
        }
        return dynamic[name]() if name in dynamic else self.ids[name]

    def _column(self, column, row_id):
        with self.app.app_context():
            return db.session.scalar(select(column).where(column.class_.id == row_id))

    def resolve(self, value):
        if isinstance(value, Ref):
            return str(self.value(value.name))
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def _client(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _save_visit(client, patient_id, sign, amend_key=None):
    draft_id, page = _start(client, patient_id)
    data = _visit_data(page, muscles=["hip_flexors"], **{"mas-hip_flexors-left": "2"})
    data.update({n: "kept" for n in re.findall(r'name="(carry-[^"]+)" value="pending"', page)})
    visit_id = int(client.post(f"/drafts/{draft_id}", data=data).location.split("/")[2])
    if sign:
        signed = client.post(
            f"/visits/{visit_id}/sign",
            data={"meaning": SIGNATURE_MEANINGS[0], "password": PASSWORD, "version": "1"},
        )
        assert signed.status_code == 302
    if amend_key:
        data.update(
            {"mas-hip_flexors-left": "3", "reason": "Typo", "password": PASSWORD},
            submission_key=amend_key,
        )
        assert client.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    return visit_id


def _build_world(app, clinic_world: dict) -> dict:
    """Both clinics with visits, drafts, doses and an amendment; return the ids."""
    create_patient(app, clinic_world["home"], mrn="MRN-2", family_name="Second")
    home = _client(app, "t@home.test")
    other = _client(app, "t@other.test")
    pid, opid = clinic_world["patient"].id, clinic_world["other_patient"].id
    other.post(
        f"/patients/{opid}/doses/new",
        data={
            "effective_date": "2026-01-02",
            "route": "oral",
            "daily_dose": "15",
            "unit": "mg/day",
            "submission_key": "other-dose-key",
        },
    )
    ids = {
        "home_clinic": clinic_world["home"].id,
        "other_clinic": clinic_world["other"].id,
        "home_patient": pid,
        "other_patient": opid,
        "other_signed": _save_visit(other, opid, sign=True, amend_key="other-amendment-key"),
        "other_unsigned": _save_visit(other, opid, sign=False),
        "home_signed": _save_visit(home, pid, sign=True),
        "home_unsigned": _save_visit(home, pid, sign=False),
        "other_amendment_key": "other-amendment-key",
        "other_dose_key": "other-dose-key",
    }
    ids["other_draft"] = int(other.post(f"/patients/{opid}/visits/new").location.rsplit("/")[-1])
    ids["new_draft"] = int(home.post(f"/patients/{pid}/visits/new").location.rsplit("/")[-1])
    edit = home.post(f"/visits/{ids['home_unsigned']}/edit").location
    ids["edit_draft"] = int(edit.rsplit("/")[-1])
    for role in ("therapist", "physician", "outsider_physician", "admin"):
        ids[role] = clinic_world[role].id
    for role in ("other_therapist", "other_physician"):
        ids[role] = clinic_world[role].id
    with app.app_context():
        ids["home_patient_2"] = db.session.scalar(select(Patient.id).where(Patient.mrn == "MRN-2"))
        for name in ("home_signed", "other_signed", "other_unsigned"):
            key = select(Visit.submission_key).where(Visit.id == ids[name])
            ids[f"{name}_key"] = db.session.scalar(key)
        key = select(Draft.submission_key).where(Draft.id == ids["other_draft"])
        ids["other_draft_key"] = db.session.scalar(key)
    return ids


@pytest.fixture(scope="session")
def world_sqlite(sqlite_schema, tmp_path_factory):
    """The world built once per test process into a SQLite file: (file, ids).

    A world costs seconds (three signed summaries rendered, an amendment, a dozen posts); each
    test on SQLite starts from a copy (`load_sqlite_template`) and logs its clients in afresh.
    """
    folder = tmp_path_factory.mktemp("fuzz-world")
    path = folder / "world.db"
    shutil.copyfile(sqlite_schema, path)
    app = create_app({**_test_config(f"sqlite:///{path}"), "OUTBOX_FOLDER": str(folder)})
    ids = _build_world(app, build_clinic_world(app))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # the WAL is checkpointed into the file
    return path, ids


@pytest.fixture
def world(app, request):
    """Both clinics with visits, drafts, doses and an amendment; logged-in clients."""
    template = None
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        template, template_ids = request.getfixturevalue("world_sqlite")
    if template is not None and load_sqlite_template(app, template):
        ids = dict(template_ids)
    else:  # PostgreSQL (`make fuzz`)
        ids = _build_world(app, request.getfixturevalue("clinic_world"))
    home = _client(app, "t@home.test")
    other = _client(app, "t@other.test")
    made = World(app, ids, {"therapist": home, "other": other})
    made.other_rows = _other_clinic_rows(made, _snapshot(app))
    return made


def _snapshot(app) -> dict:
    """Every row of every clinical table, by table and primary key."""
    with app.app_context():
        tables = Base.metadata.tables
        result = {}
        for name in TABLES:
            table = tables[name]
            keys = [c.name for c in table.primary_key.columns]
            rows = db.session.execute(select(table)).mappings().all()
            result[name] = {tuple(r[k] for k in keys): dict(r) for r in rows}
        db.session.rollback()
        return result


def _other_clinic_rows(world: World, snap: dict) -> dict:
    """The rows belonging to the other clinic: its clinic, users, patient and all below."""
    other = world.ids["other_clinic"]
    patients = {r["id"] for r in snap["patient"].values() if r["clinic_id"] == other}
    visits = {r["id"] for r in snap["visit"].values() if r["patient_id"] in patients}
    by_patient = lambda r: r["patient_id"] in patients  # noqa: E731
    owner = {
        "clinic": lambda r: r["id"] == other,
        "user_account": lambda r: r["clinic_id"] == other,
        "patient": lambda r: r["clinic_id"] == other,
        "care_team": by_patient,
        "dose_change": by_patient,
        "visit": by_patient,
        "draft": by_patient,
    }
    in_visit = lambda r: r["visit_id"] in visits  # noqa: E731
    return {
        table: {k: r for k, r in rows.items() if owner.get(table, in_visit)(r)}
        for table, rows in snap.items()
    }


@dataclass(frozen=True)
class Change:
    table: str
    before: dict | None
    after: dict | None

    @property
    def row(self) -> dict:
        return self.after if self.after is not None else self.before

    @property
    def added(self) -> bool:
        return self.before is None

    def changed_columns(self) -> set[str]:
        if self.before is None or self.after is None:
            return set()
        return {k for k in self.after if self.after[k] != self.before[k]}


def _diff(before: dict, after: dict) -> list[Change]:
    changes = []
    for table in TABLES:
        old, new = before[table], after[table]
        for key in old.keys() | new.keys():
            if old.get(key) != new.get(key):
                changes.append(Change(table, old.get(key), new.get(key)))
    return changes


# --- generated values ---------------------------------------------------------------------

SPECIAL = [
    *("", " ", "\x00", "\t\r\n", "9" * 40, "\uff11\uff12", "\u0663", "\u00bd", "a\u0301"),
    *("\u202eevil", "\ufeff", "\U0001d54f\U0001d550", "' OR 1=1 --", '"; DROP TABLE patient; --'),
    *("<script>alert(1)</script>", "{{7*7}}", "${7*7}", "%s%n%x", "../../etc/passwd"),
    *("0", "-1", "-0", "1e999", "NaN", "sNaN", "Infinity", "-Infinity", "0x1F", "1_000"),
    *("null", "None", "true", "[]", "{}", "2026-02-30", "2026-13-01", "0001-01-01", "9999-12-31"),
    *("1899-12-31", "+2026-01-01", "2026-1-1", " 2026-01-01", "2026-01-01T00:00"),
]
REF_NAMES = (
    *("home_clinic", "other_clinic", "home_patient", "home_patient_2", "other_patient"),
    *("home_signed", "home_unsigned", "other_signed", "other_unsigned", "other_draft"),
    *("therapist", "physician", "outsider_physician", "admin", "other_therapist"),
    *("other_physician", "home_signed_key", "other_signed_key", "other_unsigned_key"),
    *("other_draft_key", "other_amendment_key", "other_dose_key"),
)
refs = st.sampled_from([Ref(n) for n in REF_NAMES])
huge = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(50, 20_000))
hostile = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=40),
    huge,
    st.integers(-(2**80), 2**80).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.dates().map(date.isoformat),
    refs,
)
EXTRA_KEYS = (  # fields no form has, or hidden ones: all must be ignored or checked
    *("id", "clinic_id", "patient_id", "visit_id", "draft_id", "user_id", "therapist_id"),
    *("author_id", "entered_by_id", "signed_by_id", "signed_at", "status", "version"),
    *("submission_key", "content_hash", "created_at", "role", "active", "email"),
    *("recipient_email", "recipient_user_id", "mrn", "csrf_token", "next"),
)
extras = st.dictionaries(
    st.one_of(st.sampled_from(EXTRA_KEYS), st.text(min_size=1, max_size=20)),
    st.one_of(refs, hostile, st.lists(refs, min_size=1, max_size=3)),
    max_size=5,
)


def _texts(max_size, min_size=1):
    letters = st.characters(categories=("L", "N", "Zs", "P"), exclude_characters="\x00")
    return st.text(letters, min_size=min_size, max_size=max_size)


def _past_dates(low=date(1900, 1, 1)):
    return st.dates(min_value=low, max_value=TODAY).map(date.isoformat)


# --- the oracle: a value that alone makes the form invalid --------------------------------


@dataclass(frozen=True)
class Field:
    """A form field: a strategy of valid values and `refuses(value)` - True if it must fail.

    `value` is None when the field is missing; a list for multi-valued fields; otherwise the
    string WTForms reads (the first value; dates join all values with a space).
    """

    valid: st.SearchStrategy
    refuses: Callable = lambda value: False
    multi: bool = False
    joined: bool = False

    def seen(self, value):
        if value is MISSING or value == []:
            return None
        if self.multi:
            return value if isinstance(value, list) else [value]
        if isinstance(value, list):
            return " ".join(value) if self.joined else value[0]
        return value


def text_field(max_size, required=False, valid=None):
    def refuses(value):
        if value is None or not value.strip():
            return required
        return len(value) > max_size

    return Field(_texts(max_size, 1 if required else 0) if valid is None else valid, refuses)


def choice_field(options, required=False, blank_ok=True):
    allowed = {str(o) for o in options}

    def refuses(value):
        if value is None or value == "":
            return required or (value == "" and not blank_ok)
        return value not in allowed

    return Field(st.sampled_from(sorted(allowed)), refuses)


def multi_field(valid, allowed: Callable):
    def refuses(values):
        return values is not None and not all(allowed(v) for v in values)

    return Field(valid, refuses, multi=True)


def date_field(required=False, low=date(1, 1, 1), high=TODAY, valid=None):
    def refuses(value):
        if value is None or value == "":
            return required
        try:
            when = datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            return True
        return not low <= when <= high

    return Field(_past_dates() if valid is None else valid, refuses, joined=True)


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def int_field(low, high):
    def refuses(value):
        if value is None or not value.strip():
            return False
        number = _as_int(value)
        return number is None or not low <= number <= high

    return Field(st.one_of(st.just(""), st.integers(low, high).map(str)), refuses)


def _decimal(value):
    try:
        number = Decimal((value or "").strip().replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@st.composite
def bodies(draw, fields: dict, spoil_at_most=4):
    """Valid values for every field, then a few fields spoiled, then hostile extras."""
    body = {name: draw(f.valid) for name, f in fields.items()}
    spoiled = draw(st.sets(st.sampled_from(sorted(fields)), max_size=spoil_at_most))
    for name in sorted(spoiled):
        body[name] = draw(
            st.one_of(st.just(MISSING), hostile, st.lists(hostile, min_size=2, max_size=3))
        )
    for key, value in draw(extras).items():
        body.setdefault(key, value)
    return body


def must_refuse(fields: dict, body: dict) -> list[str]:
    return [name for name, f in fields.items() if f.refuses(f.seen(body.get(name, MISSING)))]


# --- the forms ----------------------------------------------------------------------------

GRADE = choice_field(scales.MAS_GRADES)
PAIN = choice_field([str(n) for n in scales.PAIN_SCORES])
SEVERITY = choice_field(scales.SIDE_EFFECT_SEVERITIES)
FUZZED_MUSCLES = ("hip_flexors", "elbow_flexors", "knee_extensors")
MUSCLE_CODES = {m.code for m in scales.MUSCLES}


def _visit_fields() -> dict:
    fields = {
        "visit_date": date_field(required=True, valid=_past_dates(date(2020, 1, 1))),
        "rater": text_field(120, required=True),
        "muscles": multi_field(
            st.lists(st.sampled_from(sorted(MUSCLE_CODES)), unique=True, max_size=4),
            lambda v: v in MUSCLE_CODES,
        ),
        "pain_now": PAIN,
        "pain_worst": PAIN,
        "penn_frequency": choice_field(["0", "1", "2", "3", "4"]),
        "penn_severity": choice_field(["1", "2", "3"]),
        "adherence": choice_field(scales.ADHERENCE),
        "se-drowsiness": SEVERITY,
        "se-other": SEVERITY,
        "side_effect_other_detail": text_field(200),
        "notes": text_field(5000),
        "tardieu-hip_flexors-left-r1": int_field(0, 180),
        "tardieu-hip_flexors-left-quality": choice_field([str(q) for q in range(6)]),
        "tardieu-hip_flexors-left-velocity": choice_field(scales.TARDIEU_VELOCITIES),
        "carry-hip_flexors-left": Field(st.sampled_from(["kept", "cleared", "changed", ""])),
    }
    for muscle in FUZZED_MUSCLES:
        for side in scales.SIDES:
            fields[f"mas-{muscle}-{side}"] = GRADE
    return fields


VISIT_FIELDS = _visit_fields()


def _unless_missing(refuses):
    return lambda value: value is not None and refuses(value)


NON_LATIN1_MRNS = ("\u03a9MEGA-1", "\u041f-77", "\u60a3\u8005-9", "\U0001d54f-1")


def _patient_fields(world: World, edit: bool) -> dict:
    physicians = {world.ids["physician"], world.ids["outsider_physician"]}
    fields = {
        "mrn": text_field(
            40,
            required=True,
            valid=st.one_of(
                st.sampled_from(["MRN-1", "MRN-2", "OC-1", *NON_LATIN1_MRNS]),
                st.from_regex(r"[A-Z]{2}-[0-9]{1,6}", fullmatch=True),
            ),
        ),
        "family_name": text_field(100, required=True),
        "given_name": text_field(100, required=True),
        "birth_date": date_field(required=True, low=date(1900, 1, 1)),
        "sex": choice_field(scales.SEXES, required=True),
        "diagnosis": choice_field(scales.DIAGNOSES, required=True),
        "sci_level": Field(st.sampled_from(scales.SCI_LEVELS)),
        "ais_grade": Field(st.sampled_from(["", *scales.AIS_GRADES])),
        "diagnosis_detail": text_field(200),
        "egfr": Field(st.one_of(st.just(""), st.integers(1, 200).map(str))),
        "egfr_date": date_field(),
        "on_dialysis": Field(st.sampled_from(["", "y"])),
        "referring_name": text_field(120),
        "referring_email": Field(st.one_of(st.just(""), st.emails().filter(lambda e: len(e) < 80))),
        "care_team": multi_field(
            st.lists(st.sampled_from([Ref("physician"), Ref("outsider_physician")]), max_size=2),
            lambda v: _as_int(world.resolve(v)) in physicians,
        ),
    }
    if edit:
        # On an edit, WTForms keeps the stored value of a field that is not posted at all;
        # DataRequired then passes (InputRequired, on birth date and sex, still refuses).
        fields["mrn"] = text_field(40, required=True, valid=st.sampled_from(["MRN-1", "OC-1"]))
        for name in ("mrn", "family_name", "given_name", "diagnosis"):
            fields[name] = replace(fields[name], refuses=_unless_missing(fields[name].refuses))

        def stale(value):
            return _as_int(world.resolve(value)) != world.value("patient_version")

        fields["version"] = Field(st.just(Ref("patient_version")), stale)
    return fields


# --- the run ------------------------------------------------------------------------------


@dataclass
class Outcome:
    response: object
    body: dict
    target: str
    before: dict
    refused_by: list[str]
    writes: list[Change] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.response.status_code == 302 or (
            self.response.is_json and self.response.status_code == 200
        )


def _nothing(world, outcome, change) -> bool:
    return False


@dataclass
class Form:
    """How to post one form, and which rows a post may change.

    `allowed(world, outcome, change)`: a write the form may make (checked row by row).
    `keeps_input(...)`: a change that is not a write (a draft keeping refused input).
    `cross(world, body)`: names of cross-field rules the body breaks (it must be refused).
    `exact`: a body the oracle accepts must be written.
    """

    url: Callable[[World, str], str]
    fields: dict
    client: str = "therapist"
    targets: tuple[str, ...] = ("",)
    allowed: Callable = _nothing
    keeps_input: Callable = _nothing
    cross: Callable = lambda world, body: []
    exact: bool = False
    after: Callable = lambda world, outcome: None
    method: str = "POST"
    silent: Callable = lambda world, outcome: False  # a known bug: refused without a message


def _fuzz(world: World, form: Form, client=None, shrink=True) -> dict:
    """Send EXAMPLES generated bodies to the form; check each response and database change.

    `shrink=False` for a test expected to fail: report the first failure, do not minimise it.
    """
    client = client or world.clients[form.client]
    tally = {"examples": 0, "accepted": 0, "refused": 0, "wrote": 0}

    @(FUZZ if shrink else settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate]))
    @given(st.sampled_from(form.targets), bodies(form.fields))
    def post(target, raw):
        world.ids["target"] = target
        world.ids["draft"] = world.ids.get(target)
        body = {k: world.resolve(v) for k, v in raw.items() if v is not MISSING}
        refused_by = must_refuse(form.fields, body) + form.cross(world, body)
        before = _snapshot(world.app)
        if form.method == "GET":
            response = client.get(form.url(world, target), query_string=body)
        else:
            response = client.post(form.url(world, target), data=body)
        outcome = Outcome(response, body, target, before, refused_by)
        if _holds_nul(body) and not _too_large(world.app, body):  # refused before any view
            assert response.status_code == 400, response.status_code
            assert "control character (NUL)" in response.get_data(as_text=True)
            assert not _diff(before, _snapshot(world.app))
            tally["examples"], tally["refused"] = tally["examples"] + 1, tally["refused"] + 1
            return
        _check(world, form, outcome, _snapshot(world.app))
        tally["examples"] += 1
        tally["accepted" if outcome.accepted else "refused"] += 1
        tally["wrote"] += bool(outcome.writes)
        event(f"{response.status_code}{' wrote' if outcome.writes else ''}")
        form.after(world, outcome)

    post()
    assert tally["examples"] >= EXAMPLES
    if EXAMPLES >= 100 and form.method == "POST":  # both paths taken: the checks had teeth
        assert tally["accepted"] > 0 and tally["refused"] > 0, tally
    return tally


def _too_large(app, body: dict) -> bool:
    return len(urlencode(body, doseq=True)) > app.config["MAX_CONTENT_LENGTH"]


def _holds_nul(body: dict) -> bool:
    values = [v for value in body.values() for v in (value if isinstance(value, list) else [value])]
    return any("\x00" in str(v) for v in [*body, *values])


def _check(world: World, form: Form, outcome: Outcome, after: dict) -> None:
    response, status = outcome.response, outcome.response.status_code
    assert status < 500, (status, outcome.body)
    for table, rows in world.other_rows.items():
        for key, row in rows.items():
            if after[table].get(key) != row:  # only a failed login of theirs may count
                change = Change(table, row, after[table].get(key))
                assert form.keeps_input(world, outcome, change), f"other clinic: {change}"
    changes = _diff(outcome.before, after)
    outcome.writes = [c for c in changes if not form.keeps_input(world, outcome, c)]
    for change in outcome.writes:
        assert form.allowed(world, outcome, change), (change, outcome.body)
    if outcome.refused_by or not outcome.accepted:
        assert not outcome.writes, (outcome.refused_by, status, outcome.writes)
    if form.exact and not outcome.refused_by:
        assert outcome.accepted, (status, outcome.body)
    if response.is_json:
        assert status in (200, 409, 413, 422), status
    elif status in (200, 409, 422) and form.method == "POST" and not form.silent(world, outcome):
        assert MESSAGE.search(response.get_data(as_text=True)), (status, outcome.refused_by)
    else:
        assert status in (200, 302, 400, 403, 404, 405, 409, 413), status


def _first(body: dict, name: str, default=""):
    value = body.get(name, default)
    return value[0] if isinstance(value, list) else value


def _recent(moment) -> bool:
    return moment is not None and datetime.now(UTC) - moment < timedelta(minutes=5)


def _only(change: Change, columns: set[str]) -> bool:
    return change.changed_columns() <= columns


def _counts_own_failures(world: World, outcome, change: Change) -> bool:
    """A wrong password at re-authentication counts toward the signer's own lockout."""
    return (
        change.table == "user_account"
        and change.row["id"] == world.ids["therapist"]
        and _only(change, {"failed_logins", "locked_until"})
    )


def _reset_users(world: World) -> None:
    """Clear failed logins and lockouts, and restore the fixture password."""
    with world.app.app_context():
        users = Base.metadata.tables["user_account"]
        db.session.execute(
            update(users).values(failed_logins=0, locked_until=None, password_hash=PASSWORD_HASH)
        )
        db.session.commit()


# --- accounts -----------------------------------------------------------------------------


def test_fuzz_login(app, world):
    """Known and unknown accounts, hostile passwords and `next` targets: no open redirect."""
    emails = ["t@home.test", " T@HOME.TEST ", "t@other.test", "a@home.test", "nobody@x.test"]
    fields = {
        "email": text_field(254, required=True, valid=st.sampled_from(emails)),
        "password": text_field(200, required=True, valid=st.just(PASSWORD)),
    }
    # Control characters in `next`: test_login_next_with_control_characters.
    nexts = ("/patients", "//evil.test", "/\\evil.test", "https://evil.test/", "/ /x", "/%09/x")

    def counts_failures(w, o, c):
        return c.table == "user_account" and _only(c, {"failed_logins", "locked_until"})

    def after(w, o):
        if o.response.status_code == 302:
            location = re.sub(r"[\t\n\r]", "", o.response.headers["Location"])
            assert not urlsplit(location).netloc, location
            assert not location.startswith(("//", "/\\")), location
        else:
            assert "Email or password is not right" in o.response.get_data(as_text=True) or (
                o.refused_by
            )
        _reset_users(w)

    form = Form(
        lambda w, target: "/login?" + urlencode({"next": target}),
        fields,
        targets=nexts,
        keeps_input=counts_failures,
        after=after,
    )
    _fuzz(world, form, app.test_client())


def test_fuzz_change_password(world):
    """Only the user's own password hash changes, and only with the current password."""
    fields = {
        "current_password": Field(
            st.sampled_from([PASSWORD, "not-the-password"]), lambda v: v != PASSWORD
        ),
        "new_password": Field(
            st.sampled_from(["a-new-long-passphrase", "kettle-orbit-window-9"]),
            lambda v: v is None or not v.strip() or len(v) < 12,
        ),
        "confirm": Field(st.just(Ref("new_password"))),
    }

    def cross(w, body):
        new, confirm = (fields[n].seen(body.get(n, MISSING)) for n in ("new_password", "confirm"))
        return ["confirm"] if confirm != new else []

    def own_hash(w, o, c):
        return (
            c.table == "user_account"
            and c.row["id"] == w.ids["therapist"]
            and _only(c, {"password_hash"})
        )

    world.ids["new_password"] = "a-new-long-passphrase"
    form = Form(
        lambda w, t: "/account/password",
        fields,
        cross=cross,
        allowed=own_hash,
        keeps_input=_counts_own_failures,
        after=lambda w, o: _reset_users(w),
    )
    _fuzz(world, form, _client(world.app, "t@home.test"))


def test_fuzz_new_user(world):
    """An admin creates users only in their own clinic, with the posted role, active."""
    world.clients["admin"] = _client(world.app, "a@home.test")
    fields = {
        "name": text_field(120, required=True),
        "email": Field(
            st.emails().filter(lambda e: len(e) < 100),
            lambda v: v is None or not v.strip(),
        ),
        "role": choice_field(ROLES, required=True, blank_ok=False),
        "password": Field(
            st.sampled_from(["kettle-orbit-window-9", "Plum tree at dusk 42"]),
            lambda v: v is None or not v.strip() or len(v) < 12,
        ),
    }

    def new_account(w, o, c):
        row = c.row
        return (
            c.table == "user_account"
            and c.added
            and row["clinic_id"] == w.ids["home_clinic"]
            and row["active"] is True
            and row["failed_logins"] == 0
            and row["locked_until"] is None
            and row["role"] == _first(o.body, "role")
            and row["email"] == _first(o.body, "email").strip().lower()
            and row["name"] == _first(o.body, "name").strip()
        )

    _fuzz(world, Form(lambda w, t: "/admin/users/new", fields, "admin", allowed=new_account))


# --- patients and their regimen -----------------------------------------------------------


def _patient_cross(w, body):
    problems = []
    diagnosis = _first(body, "diagnosis", None)
    if diagnosis == "sci" and not _first(body, "sci_level", None):
        problems.append("sci_level")
    egfr = _first(body, "egfr", None)
    if egfr is not None and egfr.strip():
        value = _decimal(egfr)
        if value is None or not Decimal(0) < value <= 200 or not _first(body, "egfr_date", ""):
            problems.append("egfr")
    return problems


def _patient_values_posted(o: Outcome, c: Change) -> bool:
    """The stored names are the posted ones (or, on an edit, the kept ones when not posted)."""
    for name in ("mrn", "family_name", "given_name"):
        expected = _first(o.body, name, None)
        if expected is None and c.before is not None:
            expected = c.before[name]
        if c.row[name] != (expected or "").strip():
            return False
    return True


def _care_team_of(patient_ids):
    def allowed(w, c):
        physicians = {w.ids["physician"], w.ids["outsider_physician"]}
        return c.row["patient_id"] in patient_ids(w, c) and c.row["user_id"] in physicians

    return allowed


def test_fuzz_new_patient(world):
    """A patient is created in the user's clinic whatever clinic_id or id is posted."""
    fields = _patient_fields(world, edit=False)

    def new_patient(w, o, c):
        if c.table == "care_team":
            added = {x.row["id"] for x in o.writes if x.table == "patient" and x.added}
            return c.added and _care_team_of(lambda w, c: added)(w, c)
        return (
            c.table == "patient"
            and c.added
            and c.row["clinic_id"] == w.ids["home_clinic"]
            and c.row["version"] == 1
            and _patient_values_posted(o, c)
        )

    form = Form(lambda w, t: "/patients/new", fields, cross=_patient_cross, allowed=new_patient)
    _fuzz(world, form)


def test_fuzz_edit_patient(world):
    """Only the edited patient changes, and never its clinic; a stale version is refused."""
    fields = _patient_fields(world, edit=True)
    editable = {f for f in fields if f not in ("care_team", "version")} | {"version", "updated_at"}

    def edited(w, o, c):
        if c.table == "care_team":
            return _care_team_of(lambda w, c: {w.ids["home_patient"]})(w, c)
        return (
            c.table == "patient"
            and c.row["id"] == w.ids["home_patient"]
            and _only(c, editable)
            and _patient_values_posted(o, c)
        )

    def cross(w, body):
        mrn = _first(body, "mrn", None)
        problems = ["mrn"] if mrn is not None and mrn.strip() == "MRN-2" else []
        with w.app.app_context():  # a field not posted keeps its stored value
            patient = db.session.get(Patient, w.ids["home_patient"])
            stored = {"diagnosis": patient.diagnosis, "sci_level": patient.sci_level or ""}
        return problems + _patient_cross(w, {**stored, **body})

    def forget_egfr(w, o):  # test_edit_without_the_egfr_field_keeps_it: a 500 otherwise
        with w.app.app_context():
            patients = Base.metadata.tables["patient"]
            mine = patients.c.id == w.ids["home_patient"]
            db.session.execute(update(patients).where(mine).values(egfr=None, egfr_date=None))
            db.session.commit()

    form = Form(
        lambda w, t: f"/patients/{w.ids['home_patient']}/edit",
        fields,
        cross=cross,
        allowed=edited,
        after=forget_egfr,
    )
    _fuzz(world, form)


def _dose_cross(w, body):
    route = _first(body, "route", None)
    dose = _decimal(_first(body, "daily_dose", None))
    stopped = _first(body, "stopped", "") not in ("", "false")
    problems = []
    limit = {"oral": 300, "intrathecal": 2000}.get(route, 0)
    if (stopped and dose not in (None, 0)) or (
        not stopped and (dose is None or not 0 < dose <= limit)
    ):
        problems.append("daily_dose")
    return problems


def test_fuzz_dose_change(world):
    """A regimen change is stored for this patient, by this user, with the posted values."""
    fields = {
        "effective_date": date_field(
            required=True, high=TODAY + timedelta(days=7), valid=_past_dates(date(2020, 1, 1))
        ),
        "route": choice_field(scales.ROUTES, required=True, blank_ok=False),
        "daily_dose": Field(st.integers(1, 300).map(str)),
        "unit": Field(st.sampled_from(["mg/day", "mcg/day", "mL/day"])),  # ignored: the route's
        "stopped": Field(st.sampled_from(["", "", "", "y"])),
        "schedule": text_field(120),
        "formulation": text_field(120),
        "reason": text_field(300),
        "submission_key": Field(st.one_of(st.uuids().map(str), st.just(Ref("other_dose_key")))),
    }

    def recorded(w, o, c):
        row, key = c.row, _first(o.body, "submission_key")
        return (
            c.table == "dose_change"
            and c.added
            and row["patient_id"] == w.ids["home_patient"]
            and row["entered_by_id"] == w.ids["therapist"]
            and row["route"] == _first(o.body, "route")
            and row["unit"] == scales.ROUTE_UNITS[_first(o.body, "route")]
            and (
                not key
                or row["submission_key"] == key[:64]
                # another patient's key is never reused: this change gets a key of its own
                or (key == w.value("other_dose_key") and row["submission_key"] != key)
            )
            and row["schedule"] == _first(o.body, "schedule").strip()
        )

    form = Form(
        lambda w, t: f"/patients/{w.ids['home_patient']}/doses/new",
        fields,
        cross=_dose_cross,
        allowed=recorded,
    )
    _fuzz(world, form)


# --- visits -------------------------------------------------------------------------------


def _visit_cross(w, body):
    problems = []
    frequency = _first(body, "penn_frequency", None)
    if _first(body, "penn_severity", None) and frequency in (None, "", "0"):
        problems.append("penn_severity")
    muscles = VISIT_FIELDS["muscles"].seen(body.get("muscles", MISSING)) or []
    carry = _first(body, "carry-hip_flexors-left", "") or "pending"
    if (
        w.ids["target"] == "new_draft"
        and "hip_flexors" in muscles
        and carry == "pending"
        and _first(body, "mas-hip_flexors-left", None) == "2"
    ):
        problems.append("carried grade")
    return problems


def _draft_keeps_input(w, o, c) -> bool:
    return (
        c.table == "draft"
        and c.row["id"] == w.ids["draft"]
        and _only(c, {"payload", "version", "updated_at", "updated_by_id"})
    )


def _fresh_drafts(w: World) -> None:
    """Open new drafts where a post consumed them, so the next example has one to aim at."""
    client, pid = w.clients["therapist"], w.ids["home_patient"]
    with w.app.app_context():
        consumed = {
            d.id for d in db.session.scalars(select(Draft).where(Draft.consumed_at.is_not(None)))
        }
    if w.ids["new_draft"] in consumed:
        w.ids["new_draft"] = int(client.post(f"/patients/{pid}/visits/new").location.split("/")[-1])
    if w.ids["edit_draft"] in consumed:
        location = client.post(f"/visits/{w.ids['home_unsigned']}/edit").location
        w.ids["edit_draft"] = int(location.split("/")[-1])


def _versioned(world: World, fields: dict) -> dict:
    version = Field(
        st.just(Ref("draft_version")), lambda v: _as_int(v) != world.value("draft_version")
    )
    return {**fields, "version": version}


DRAFT_TEXT_LIMITS = {"rater": 120, "side_effect_other_detail": 200, "notes": 5000}


def _past_draft_limits(w, body) -> list[str]:
    """Fields a draft may not keep: past the form's text limits, or far past any code."""
    problems = []
    for name, value in body.items():
        if name in ("csrf_token", "version", "submission_key"):
            continue
        longest = max(
            (len(str(v)) for v in (value if isinstance(value, list) else [value])), default=0
        )
        if longest > DRAFT_TEXT_LIMITS.get(name, 40) or len(name) > 100:
            problems.append(f"draft limit: {name[:100]}")
    return problems


def test_fuzz_visit_autosave(world):
    """Autosave stores the form as the draft only, within the form's limits; it still opens."""
    unchecked = {k: replace(f, refuses=Field.refuses) for k, f in VISIT_FIELDS.items()}
    fields = _versioned(world, unchecked)

    def after(w, o):
        status, limits = o.response.status_code, _past_draft_limits(w, o.body)
        if status == 413:
            assert _too_large(w.app, o.body), len(urlencode(o.body, doseq=True))
        elif limits:
            assert status == 422, (status, limits)
            problems = o.response.get_json()["field_errors"]
            assert {f"draft limit: {name}" for name in problems} == set(limits), problems
        else:
            assert status == (409 if o.refused_by else 200), o.refused_by
        page = w.clients["therapist"].get(f"/drafts/{w.ids['draft']}")
        assert page.status_code == 200, o.body
        payload = json.loads(_snapshot(w.app)["draft"][(w.ids["draft"],)]["payload"])
        assert not _past_draft_limits(w, payload), payload

    form = Form(
        lambda w, t: f"/drafts/{w.ids[t]}/autosave",
        fields,
        targets=("new_draft", "edit_draft"),
        cross=_past_draft_limits,
        keeps_input=_draft_keeps_input,
        after=after,
    )
    _fuzz(world, form)


@pytest.mark.parametrize("draft", ["new_draft", "edit_draft"])
def test_fuzz_visit_submit(world, draft, request):
    """A visit is saved for the draft's patient, by this user, unsigned, whatever is posted."""
    keys = [Ref("draft_key"), Ref("home_signed_key"), Ref("other_signed_key")]
    fields = _versioned(world, dict(VISIT_FIELDS))
    fields["submission_key"] = Field(st.sampled_from([*keys, Ref("other_draft_key")]))
    content = {*SCALAR_FIELDS, "updated_at", "version"}

    def saved(w, o, c):
        row = c.row
        draft = o.before["draft"][(w.ids["draft"],)]
        visits = {x.row["id"] for x in o.writes if x.table == "visit"}
        if c.table == "visit" and c.added:
            return (
                row["patient_id"] == w.ids["home_patient"]
                and row["therapist_id"] == w.ids["therapist"]
                and row["status"] == "draft"
                and row["signed_by_id"] is None
                and row["signed_at"] is None
                and row["submission_key"] == draft["submission_key"]
                and row["rater"] == _first(o.body, "rater").strip()
            )
        if c.table == "visit":
            return row["id"] == draft["visit_id"] == w.ids["home_unsigned"] and _only(c, content)
        if c.table in ("mas_score", "tardieu_score", "side_effect"):  # an edit replaces them
            return row["visit_id"] in visits or row["visit_id"] == draft["visit_id"]
        if c.table == "draft":
            return row["id"] == draft["id"] and _only(
                c, {"consumed_at", "visit_id", "payload", "version", "updated_at", "updated_by_id"}
            )
        return (
            c.table == "patient"
            and row["id"] == w.ids["home_patient"]
            and _only(c, {"usual_muscles", "version", "updated_at"})
        )

    def same_values(w, o):  # test_conflict_with_the_same_values_says_why
        stored = json.loads(o.before["draft"][(w.ids["draft"],)]["payload"])
        posted = {k: v if isinstance(v, list) else [v] for k, v in o.body.items()}
        posted = {k: v for k, v in posted.items() if k not in ("version", "submission_key")}
        return o.response.status_code == 409 and not conflict_rows(stored, posted)

    form = Form(
        lambda w, t: f"/drafts/{w.ids[t]}",
        fields,
        silent=same_values,
        targets=(draft,),
        cross=_visit_cross,
        allowed=saved,
        keeps_input=_draft_keeps_input,
        after=lambda w, o: _fresh_drafts(w),
    )
    _fuzz(world, form, shrink=not request.node.get_closest_marker("xfail"))


def test_fuzz_visit_sign(world):
    """Signing needs the password and a listed meaning; who and when come from the server."""
    fields = {
        "meaning": Field(
            st.sampled_from(SIGNATURE_MEANINGS), lambda v: v not in SIGNATURE_MEANINGS
        ),
        "password": Field(st.just(PASSWORD), lambda v: v != PASSWORD),
        # The version the signer saw: another one means the visit changed since (409).
        "version": Field(
            st.just(Ref("visit_version")),
            lambda v: _as_int(v) != world.value("visit_version"),
        ),
    }
    signing = {"status", "signed_by_id", "signed_at", "signature_meaning", "content_hash"}

    def signed(w, o, c):
        row = c.row
        return (
            c.table == "visit"
            and row["id"] == w.ids["home_unsigned"]
            and _only(c, signing | {"version", "updated_at"})
            and row["status"] == "signed"
            and row["signed_by_id"] == w.ids["therapist"]
            and _recent(row["signed_at"])
            and row["signature_meaning"] == _first(o.body, "meaning")
        )

    def unsign(w, o):
        _reset_users(w)
        with w.app.app_context():
            visits = Base.metadata.tables["visit"]
            db.session.execute(
                update(visits)
                .where(visits.c.id == w.ids["home_unsigned"])
                .values({**dict.fromkeys(signing), "status": "draft"})
            )
            db.session.commit()

    form = Form(
        lambda w, t: f"/visits/{w.ids['home_unsigned']}/sign",
        fields,
        allowed=signed,
        keeps_input=_counts_own_failures,
        exact=True,
        after=unsign,
    )
    _fuzz(world, form)


def test_fuzz_visit_amend(world):
    """An amendment is linked to this signed visit and its author; the visit never changes."""
    fields = dict(VISIT_FIELDS)
    fields.update(
        # the reason is read stripped, and refused (never cut short) past its limit
        reason=Field(
            _texts(AMEND_REASON_MAX + 20),
            lambda v: v is None or not v.strip() or len(v.strip()) > AMEND_REASON_MAX,
        ),
        password=Field(st.just(PASSWORD), lambda v: v != PASSWORD),
        submission_key=Field(st.one_of(st.uuids().map(str), st.just(Ref("other_amendment_key")))),
    )

    def amended(w, o, c):
        row, key = c.row, _first(o.body, "submission_key")
        return (
            c.table == "amendment"
            and c.added
            and row["visit_id"] == w.ids["home_signed"]
            and row["author_id"] == w.ids["therapist"]
            and row["reason"] == _first(o.body, "reason").strip()
            and (
                not key
                or row["submission_key"] == key[:64]
                # another visit's key is never reused: this amendment gets a key of its own
                or (key == w.value("other_amendment_key") and row["submission_key"] != key)
            )
        )

    form = Form(
        lambda w, t: f"/visits/{w.ids['home_signed']}/amend",
        fields,
        cross=_visit_cross,
        allowed=amended,
        keeps_input=_counts_own_failures,
        after=lambda w, o: _reset_users(w),
    )
    _fuzz(world, form)


def test_fuzz_send_to_physician(world):
    """A link goes only to a care-team physician of the patient, at their stored address."""
    roles = ("physician", "outsider_physician", "other_physician", "therapist")
    world.ids.update({f"recipient_{role}": f"user:{world.ids[role]}" for role in roles})
    choices = [Ref(f"recipient_{role}") for role in (roles[0], *roles)] + ["referring"]
    only_the_care_team = lambda v: v != world.ids["recipient_physician"]  # noqa: E731
    fields = {"recipient": Field(st.sampled_from(choices), only_the_care_team)}

    def shared(w, o, c):
        row = c.row
        return (
            c.table == "share_link"
            and c.added
            and row["visit_id"] == w.ids["home_signed"]
            and row["recipient_user_id"] == w.ids["physician"]
            and row["recipient_email"] == "p@home.test"
            and row["created_by_id"] == w.ids["therapist"]
        )

    def after(w, o):
        if o.target == "home_signed" and not o.refused_by:
            assert o.writes, o.body
        if o.target == "home_unsigned":
            assert o.response.status_code == 409

    form = Form(
        lambda w, t: f"/visits/{w.ids[t]}/share",
        fields,
        targets=("home_signed", "home_signed", "home_unsigned"),
        allowed=shared,
        after=after,
    )
    _fuzz(world, form)


def test_fuzz_patient_search(world):
    """Search terms of any kind: a page, never the other clinic's patients, nothing written."""
    fields = {"q": text_field(200, valid=st.sampled_from(["", "ngu", "MRN", "%", "_"]))}
    fields["partial"] = Field(st.sampled_from(["", "1"]))

    def after(w, o):
        assert o.response.status_code == 200
        assert "FISCHER" not in o.response.get_data(as_text=True)

    _fuzz(world, Form(lambda w, t: "/patients", fields, method="GET", after=after))


# --- bodies no form sends, and names no header can carry -----------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
odd_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.tuples(json_values, st.integers(0, 40)).map(lambda t: json.dumps(t[0]).encode()[: t[1]]),
    st.integers(1, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 50_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.binary(max_size=200),
)
ODD_TYPES = (
    *("application/json", "text/json", "application/json; charset=utf-16", "text/plain"),
    *("application/xml", "application/octet-stream", "application/x-www-form-urlencodedx"),
)
ODD_TARGETS = {
    "login": lambda w: "/login",
    "change password": lambda w: "/account/password",
    "new user": lambda w: "/admin/users/new",
    "new patient": lambda w: "/patients/new",
    "edit patient": lambda w: f"/patients/{w.ids['home_patient']}/edit",
    "dose change": lambda w: f"/patients/{w.ids['home_patient']}/doses/new",
    "visit submit": lambda w: f"/drafts/{w.ids['new_draft']}",
    "visit autosave": lambda w: f"/drafts/{w.ids['new_draft']}/autosave",
    "sign": lambda w: f"/visits/{w.ids['home_unsigned']}/sign",
    "amend": lambda w: f"/visits/{w.ids['home_signed']}/amend",
    "share": lambda w: f"/visits/{w.ids['home_signed']}/share",
}


@pytest.mark.parametrize("target", ODD_TARGETS)
def test_fuzz_odd_bodies(world, target):
    """JSON of any shape, cut short or nested deep, text, XML, bytes: a 415, nothing written."""
    admin = target == "new user"
    client = _client(world.app, "a@home.test") if admin else world.clients["therapist"]
    url = ODD_TARGETS[target](world)

    @FUZZ
    @given(
        st.sampled_from(ODD_TYPES), odd_bodies, st.sampled_from(["text/html", "application/json"])
    )
    def post(content_type, body, accept):
        before = _snapshot(world.app)
        response = client.post(
            url, data=body, content_type=content_type, headers={"Accept": accept}
        )
        assert response.status_code == 415, (response.status_code, body[:80])
        if response.is_json:
            assert response.get_json()["saved"] is False
        else:
            assert "was not sent by one of the app" in response.get_data(as_text=True)
        assert not _diff(before, _snapshot(world.app))

    post()


mrns = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=40
)


@FUZZ
@given(mrns)
def test_fuzz_pdf_filename_of_any_mrn(app, mrn):
    """Any MRN gives an ASCII Content-Disposition whose filename* spells the MRN out."""
    from urllib.parse import unquote

    from spastic.reports.documents import pdf_response

    with app.test_request_context():
        visit = Visit(patient=Patient(mrn=mrn), visit_date=TODAY)
        response = pdf_response(visit, b"%PDF-1.7")
        disposition = response.headers["Content-Disposition"]
    disposition.encode("ascii")
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("inline; filename=")
    named = f"summary-{mrn}-{TODAY.isoformat()}.pdf"
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in named)
    if "filename*=" in disposition:
        assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == safe
    else:
        assert disposition == f"inline; filename={safe}"


# --- what the fuzzing found (each was a bug, now fixed), as plain reproductions --------------


def test_resaving_an_edited_visit(app, world):
    """POST /drafts/<edit draft> with the visit's own muscles: a 500 (UNIQUE mas_score)."""
    client = world.clients["therapist"]
    draft = world.ids["edit_draft"]
    page = client.get(f"/drafts/{draft}").get_data(as_text=True)
    data = _visit_data(page, muscles=["hip_flexors"], **{"mas-hip_flexors-left": "3"})
    response = client.post(f"/drafts/{draft}", data=data)
    assert response.status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, world.ids["home_unsigned"])
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
    assert grades[("hip_flexors", "left")] == "3"


def test_edit_draft_of_a_visit_signed_meanwhile(app, world):
    """Edit an unsigned visit, sign it in another tab, save the edit: a 500, not a 409."""
    client = world.clients["therapist"]
    draft, visit = world.ids["edit_draft"], world.ids["home_unsigned"]
    page = client.get(f"/drafts/{draft}").get_data(as_text=True)
    version = _hidden(client.get(f"/visits/{visit}/review").get_data(as_text=True), "version")
    sign = {"meaning": SIGNATURE_MEANINGS[0], "password": PASSWORD, "version": version}
    signed = client.post(f"/visits/{visit}/sign", data=sign)
    assert signed.status_code == 302
    response = client.post(f"/drafts/{draft}", data=_visit_data(page, muscles=["knee_flexors"]))
    assert response.status_code in (302, 409)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.test",
        "/\n/evil.test",
        "/\r/evil.test",
    ],
)
def test_login_next_with_control_characters(app, world, target):
    """POST /login?next=/%09/evil.test answers Location: //evil.test (off-site)."""
    client = app.test_client()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "t@home.test", "password": PASSWORD},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert not urlsplit(location).netloc and not location.startswith("//")


def test_amendment_with_another_visits_key_is_recorded_or_refused(app, world):
    """Key of the other clinic's amendment: "Amendment recorded." but nothing is recorded."""
    client, visit = world.clients["therapist"], world.ids["home_signed"]
    page = client.get(f"/visits/{visit}/amend").get_data(as_text=True)
    data = _visit_data(page, muscles=["hip_flexors"], **{"mas-hip_flexors-left": "4"})
    data.update(reason="Wrong row", password=PASSWORD, submission_key="other-amendment-key")
    response = client.post(f"/visits/{visit}/amend", data=data)
    with app.app_context():
        recorded = db.session.get(Visit, visit).amendments
    assert recorded or response.status_code in (409, 422)


def test_dose_change_with_another_patients_key_is_recorded_or_refused(app, world):
    """Key of the other clinic's dose change: a redirect, nothing stored, no message."""
    client, patient = world.clients["therapist"], world.ids["home_patient"]
    data = {
        "effective_date": TODAY.isoformat(),
        "route": "oral",
        "daily_dose": "45",
        "unit": "mg/day",
        "submission_key": "other-dose-key",
    }
    response = client.post(f"/patients/{patient}/doses/new", data=data)
    with app.app_context():
        doses = db.session.get(Patient, patient).dose_changes
    assert any(d.daily_dose == 45 for d in doses) or response.status_code in (409, 422)


@pytest.mark.parametrize("dose", ["0.001", "1E-7", "0.004"])
def test_a_dose_that_rounds_to_zero_is_refused(app, world, dose):
    """Numeric(8, 2) stores 0.00 mg/day, not stopped, for an oral dose that passed as above 0."""
    client, patient = world.clients["therapist"], world.ids["home_patient"]
    data = {"effective_date": TODAY.isoformat(), "route": "oral", "daily_dose": dose}
    response = client.post(f"/patients/{patient}/doses/new", data={**data, "unit": "mg/day"})
    with app.app_context():
        stored = [d.daily_dose for d in db.session.get(Patient, patient).dose_changes]
    assert response.status_code == 302 or MESSAGE.search(response.get_data(as_text=True))
    assert all(d > 0 for d in stored), stored


def test_an_egfr_that_rounds_to_zero_is_refused(app, world):
    """Numeric(5, 1) stores an eGFR of 0.0 for "0.04", which passed the 1-200 check."""
    client, patient = world.clients["therapist"], world.ids["home_patient"]
    page = client.get(f"/patients/{patient}/edit").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    data = {
        "mrn": "MRN-1",
        "family_name": "Nguyen",
        "given_name": "Linh",
        "birth_date": "1985-03-14",
        "sex": "female",
        "diagnosis": "ms",
        "sci_level": "",
        "egfr": "0.04",
        "egfr_date": TODAY.isoformat(),
        "version": version,
    }
    response = client.post(f"/patients/{patient}/edit", data=data)
    with app.app_context():
        egfr = db.session.get(Patient, patient).egfr
    assert egfr is None or egfr > 0, (response.status_code, egfr)


def test_a_stale_submit_with_the_same_values_is_no_conflict(world):
    """Two tabs of one draft: A autosaves, B (stale version) submits the same values: one's own
    earlier save is never a conflict (issue 13 point 8), so the visit is saved, once."""
    client, draft = world.clients["therapist"], world.ids["new_draft"]
    page = client.get(f"/drafts/{draft}").get_data(as_text=True)
    data = _visit_data(page, muscles=["knee_flexors"])
    data["carry-hip_flexors-left"] = data["carry-hip_flexors-right"] = "kept"
    assert client.post(f"/drafts/{draft}/autosave", data=data).status_code == 200
    response = client.post(f"/drafts/{draft}", data=data)  # still the old version
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert re.search(r"/visits/\d+/review$", response.location)
    again = client.post(f"/drafts/{draft}", data=data)  # the resend lands on the same visit
    assert again.status_code in (302, 303) and again.location == response.location


def test_edit_without_the_egfr_field_keeps_it(app, world):
    """POST /patients/<id>/edit with no `egfr` field, the patient having an eGFR: a 500."""
    client, patient = world.clients["therapist"], world.ids["home_patient"]
    with app.app_context():
        stored = db.session.get(Patient, patient)
        stored.egfr, stored.egfr_date = Decimal(24), date(2026, 1, 1)
        db.session.commit()
        version = stored.version
    data = {
        "mrn": "MRN-1",
        "family_name": "Nguyen",
        "given_name": "Linh",
        "birth_date": "1985-03-14",
        "sex": "female",
        "diagnosis": "ms",
        "sci_level": "",
        "version": str(version),
    }
    assert client.post(f"/patients/{patient}/edit", data=data).status_code == 302
