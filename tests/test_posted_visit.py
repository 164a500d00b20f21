"""The quick reading of a posted visit form (`visits.posted`) against the VisitForm itself.

Whatever is posted, the quick path either steps aside (None: the VisitForm judges the form, as
it always did) or gives exactly what the VisitForm gives: the same VisitInput and the same
carried grades kept, and only for a form the VisitForm finds valid with no carried grade left.
"""

from datetime import date, timedelta

import pytest
from flask import request
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from spastic import create_app
from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import AuditEvent, Visit
from spastic.visits import posted
from spastic.visits.content import content_of
from spastic.visits.forms import (
    TEXT_LIMITS,
    VisitForm,
    as_visit_input,
    carry_name,
    check_carried,
    mas_name,
    tardieu_name,
)
from spastic.visits.records import kept_carried
from tests.conftest import _test_config
from tests.test_visits import _start, _visit_data

TODAY = date.today()
LAST_VISIT = TODAY - timedelta(days=90)
SIDES = scales.SIDES
MUSCLES = tuple(m.code for m in scales.MUSCLES)
CHOICES = {
    "pain_now": tuple(str(n) for n in scales.PAIN_SCORES),
    "pain_worst": tuple(str(n) for n in scales.PAIN_SCORES),
    "penn_frequency": tuple(str(k) for k in scales.PENN_FREQUENCY),
    "penn_severity": tuple(str(k) for k in scales.PENN_SEVERITY),
    "adherence": tuple(scales.ADHERENCE),
    **{f"se-{code}": scales.SIDE_EFFECT_SEVERITIES for code in scales.SIDE_EFFECTS},
}
for _muscle in MUSCLES:
    for _side in SIDES:
        CHOICES[mas_name(_muscle, _side)] = scales.MAS_GRADES
        CHOICES[tardieu_name(_muscle, _side, "quality")] = tuple(map(str, scales.TARDIEU_QUALITY))
        CHOICES[tardieu_name(_muscle, _side, "velocity")] = tuple(scales.TARDIEU_VELOCITIES)
ANGLES = [tardieu_name(m, s, p) for m in MUSCLES for s in SIDES for p in ("r1", "r2")]
CARRIES = [carry_name(m, s) for m in MUSCLES for s in SIDES]
# Values near the edge of what each kind of field takes: the two readings must agree on each.
ODD = (
    *("", " ", "\t", " 1", "1 ", "01", "040", "+40", "-1", "0", "180", "181", "999", "1_0"),
    *("\u0664\u0660", "4.0", "1+", "5", "x", "V4", "v1", "NONE", "Mild", "kept", "cleared"),
    *("pending", "2026-13-01", "2026-1-5", "20261202", f"{TODAY} ", (TODAY + timedelta(1))),
    *(TODAY.isoformat(), "a" * 41, "r" * 120, "r" * 121, "n" * 201, " " * 3, "\x00"),
)


@pytest.fixture(scope="module")
def forms_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('posted') / 'unused.db'}"
    return create_app(_test_config(url))  # no query is made: forms only


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _tablet_form(carried: dict) -> dict[str, list[str]]:
    """What the tablet posts for 12 muscles graded (24 grades), carried grades kept."""
    muscles = MUSCLES[:12]
    data = {"visit_date": [TODAY.isoformat()], "rater": ["Tess Mills"], "muscles": list(muscles)}
    for index, muscle in enumerate(muscles):
        for side in SIDES:
            data[mas_name(muscle, side)] = [scales.MAS_GRADES[index % 6]]
            data[carry_name(muscle, side)] = ["kept" if (muscle, side) in carried else ""]
    for name in ANGLES + CARRIES:
        data.setdefault(name, [""])
    data.update(pain_now=["3"], penn_frequency=["2"], penn_severity=["1"], notes=["Stable."])
    data["side_effect_other_detail"] = [""]
    return data


def _carried_for(data: dict) -> dict:
    """The last signed visit's grades, as the tablet form offered them (first 4 muscles)."""
    return {
        (muscle, side): (data.get(mas_name(muscle, side), ["2"])[0] or "2", LAST_VISIT)
        for muscle in MUSCLES[:4]
        for side in SIDES
    }


def _both(app, data: dict, carried: dict):
    """(VisitForm valid?, its input and kept grades, the quick reading) for the same post."""
    pairs = MultiDict([(k, v) for k, values in data.items() for v in values])
    with app.test_request_context("/drafts/1", method="POST", data=pairs):
        quick = posted.read(request.form, carried)
        form = VisitForm()
        valid = form.validate() & check_carried(form, carried)
        reference = None
        if valid:
            try:
                reference = (as_visit_input(form), kept_carried(form, carried))
            except KeyError:  # a carried grade of a muscle the form has not: no reading of it
                valid = False
    return valid, reference, quick


def test_the_tablet_form_is_read_quickly_and_as_the_visit_form_reads_it(forms_app):
    data = _tablet_form(dict.fromkeys((m, s) for m in MUSCLES[:4] for s in SIDES))
    carried = _carried_for(data)
    valid, reference, quick = _both(forms_app, data, carried)
    assert valid and quick is not None
    assert quick == reference
    visit_input, kept = quick
    assert len([g for g in visit_input.grades if g[2] is not None]) == 24
    assert kept == {key: LAST_VISIT for key in carried}


def test_the_text_limits_are_the_visit_forms():
    assert posted.RATER_MAX == TEXT_LIMITS["rater"][1] == 120
    assert posted.OTHER_DETAIL_MAX == TEXT_LIMITS["side_effect_other_detail"][1] == 200
    assert posted.NOTES_MAX == TEXT_LIMITS["notes"][1] == 5000


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("visit_date", [(TODAY + timedelta(days=1)).isoformat()]),
        ("visit_date", ["2026-1-5"]),
        ("visit_date", []),
        ("rater", ["   "]),
        ("rater", ["r" * 121]),
        ("notes", ["n" * 5001]),
        ("muscles", ["biceps-of-nowhere"]),
        (mas_name(MUSCLES[0], "left"), ["5"]),
        (mas_name(MUSCLES[-1], "right"), ["1 "]),  # a muscle not shown is validated too
        (mas_name(MUSCLES[0], "left"), ["1", "2"]),
        (tardieu_name(MUSCLES[1], "left", "r1"), ["181"]),
        (tardieu_name(MUSCLES[1], "left", "r1"), [" 40"]),
        (carry_name(MUSCLES[0], "left"), ["pending"]),  # a carried grade neither kept nor cleared
        ("penn_frequency", ["0"]),  # with a severity: the form explains the rule
    ],
)
def test_anything_the_form_has_to_speak_about_goes_to_the_visit_form(forms_app, name, values):
    carried = _carried_for(_tablet_form({}))
    data = _tablet_form(carried)
    data[name] = values
    assert _both(forms_app, data, carried)[2] is None


SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def posts(draw):
    """A tablet form with a few fields changed to valid, odd or several values, or dropped."""
    data = _tablet_form({})
    if draw(st.booleans()):
        data["muscles"] = draw(st.lists(st.sampled_from((*MUSCLES, "elbow", "")), max_size=16))
    names = st.sampled_from(
        sorted(
            {
                *CHOICES,
                *ANGLES,
                *CARRIES,
                "visit_date",
                "rater",
                "notes",
                "muscles",
                "side_effect_other_detail",
            }
        )
    )
    for name in draw(st.lists(names, max_size=6)):
        valid = st.sampled_from(CHOICES.get(name) or ("40", "kept", "cleared", "Ann"))
        value = st.one_of(valid, st.sampled_from(ODD).map(str), st.text(max_size=4))
        data[name] = draw(st.lists(value, max_size=2))
    carried = draw(
        st.dictionaries(
            st.tuples(st.sampled_from((*MUSCLES[:6], "elbow")), st.sampled_from(SIDES)),
            st.tuples(st.sampled_from(scales.MAS_GRADES), st.just(LAST_VISIT)),
            max_size=6,
        )
    )
    return data, carried


@SETTINGS
@given(posts())
def test_the_quick_reading_never_differs_from_the_visit_form(forms_app, post):
    data, carried = post
    valid, reference, quick = _both(forms_app, data, carried)
    event("read quickly" if quick else "valid, judged by the form" if valid else "refused")
    if quick is not None:
        assert valid, "read quickly a form the VisitForm refuses"
        assert quick == reference


def test_an_invalid_or_missing_csrf_token_goes_to_the_visit_form(tmp_path):
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    app = create_app({**_test_config(url), "WTF_CSRF_ENABLED": True})
    carried = _carried_for(_tablet_form({}))
    for token in ([], ["forged"]):
        data = {**_tablet_form(carried), "csrf_token": token}
        valid, _reference, quick = _both(app, data, carried)
        assert not valid and quick is None


def test_a_save_read_quickly_stores_and_audits_what_the_visit_form_would(
    app, therapist, clinic_world, make_patient, monkeypatch
):
    from spastic.visits import views

    built = []

    class CountedForm(VisitForm):
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(views, "VisitForm", CountedForm)
    quick_patient = clinic_world["patient"].id
    judged_patient = make_patient(clinic_world["home"], mrn="H-2").id
    extra = {"tardieu-elbow_flexors-left-r1": "40", "tardieu-elbow_flexors-left-velocity": "V3"}
    saved = {}
    for patient_id in (quick_patient, judged_patient):
        if patient_id == judged_patient:  # the reference: the VisitForm validates the same post
            monkeypatch.setattr(posted, "read", lambda formdata, carried: None)
        draft_id, page = _start(therapist, patient_id)
        built.clear()
        response = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page, **extra))
        assert response.status_code == 302, response.status_code
        saved[patient_id] = (int(response.location.split("/")[2]), len(built))
    assert saved[quick_patient][1] == 0 and saved[judged_patient][1] == 1
    with app.app_context():
        quick, judged = (_stored(saved[p][0]) for p in (quick_patient, judged_patient))
    assert quick == judged
    assert quick[0]["mas:elbow_flexors:left"] == "1+"
    assert quick[0]["tardieu:elbow_flexors:left"] == "r1=40,velocity=V3"
    assert ("mas:elbow_flexors:left", None, "1+") in quick[1]


def test_a_refused_save_is_judged_by_the_visit_form_with_its_messages(therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    response = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page, rater=" "))
    assert response.status_code == 422
    assert "Enter who rated the muscles." in response.get_data(as_text=True)


def _stored(visit_id: int) -> tuple[dict, set]:
    """A visit's content and its creation's audit rows (field, old, new)."""
    visit = db.session.get(Visit, visit_id)
    rows = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "create",
            AuditEvent.entity == "visit",
            AuditEvent.entity_id == visit_id,
        )
    ).all()
    return content_of(visit), {(e.field, e.old_value, e.new_value) for e in rows}
