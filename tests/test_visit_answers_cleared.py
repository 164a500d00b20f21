"""Every answer of the visit form can be cleared, and "none" stays apart from "not asked".

A cleared radio group is simply absent from the posted form: the server must accept that
(a Penn severity cleared after the frequency was corrected to 0), store it as no answer, and
an edit of a saved visit must remove the stored value. The visit page and the PDF show a
side effect answered "none" differently from one not asked.
"""

import re
from datetime import date

import pytest
from sqlalchemy import select

from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import SideEffect, Visit
from tests.conftest import PASSWORD
from tests.test_summary_pdf import _text
from tests.test_visits import _start, _visit_data


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def _without(data: dict, *names: str) -> dict:
    return {k: v for k, v in data.items() if k not in names}


def _pdf_text(pdf: bytes) -> str:
    return " ".join(_text(pdf).split())


def test_severity_with_frequency_zero_is_refused_with_a_way_out(therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    refused = therapist.post(
        f"/drafts/{draft_id}", data=_visit_data(page, penn_frequency="0", penn_severity="2")
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "clear the severity, or set a frequency above 0" in text
    # The severity group has its own Clear button beside it.
    severity = text[text.index('id="penn_severity-field"') :]
    assert re.search(r"data-clear>Clear<span class=\"visually-hidden\"> Spasm severity", severity)


def test_cleared_answers_are_accepted_and_stored_empty(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    # Severity cleared after the frequency was corrected to 0; pain, adherence, one side
    # effect and a grade cleared too: none of them is posted.
    cleared = _without(
        _visit_data(page, penn_frequency="0"),
        "penn_severity",
        "pain_worst",
        "adherence",
        "se-nausea",
        "mas-elbow_flexors-right",
    )
    saved = therapist.post(f"/drafts/{draft_id}", data=cleared)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    visit_id = int(saved.location.split("/")[2])
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert (visit.penn_frequency, visit.penn_severity) == (0, None)
        assert (visit.pain_now, visit.pain_worst, visit.adherence) == (4, None, None)
        assert {(e.code, e.severity) for e in visit.side_effects} == {("drowsiness", "mild")}
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
        assert grades[("elbow_flexors", "right")] is None


def test_an_edit_clears_stored_answers(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    edit = therapist.post(f"/visits/{visit_id}/edit").location
    edit_page = therapist.get(edit).get_data(as_text=True)
    data = _without(
        _visit_data(edit_page, penn_frequency="0"),
        "penn_severity",
        "se-drowsiness",
        "pain_now",
        "mas-knee_flexors-left",
    )
    assert therapist.post(edit, data=data).status_code == 302
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert (visit.penn_frequency, visit.penn_severity, visit.pain_now) == (0, None, None)
        assert {(e.code, e.severity) for e in visit.side_effects} == {("nausea", "none")}
        grades = {(s.muscle, s.side): s.grade for s in visit.mas_scores}
        assert grades[("knee_flexors", "left")] is None


def test_none_is_shown_apart_from_not_asked(app, therapist, clinic_world):
    draft_id, page = _start(therapist, clinic_world["patient"].id)
    # Drowsiness mild, nausea none, the other ten not asked.
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    with app.app_context():
        stored = db.session.scalars(
            select(SideEffect.code).where(SideEffect.visit_id == visit_id)
        ).all()
        assert sorted(stored) == ["drowsiness", "nausea"]
    html = therapist.get(f"/visits/{visit_id}").get_data(as_text=True)
    assert '<dt>Drowsiness</dt><dd class="se-reported"><strong>mild</strong>' in html
    assert '<dt>None</dt><dd class="se-absent">Nausea</dd>' in html
    not_asked = [label for code, label in scales.SIDE_EFFECTS.items() if code not in stored]
    assert f'<dt>Not asked</dt><dd class="se-not-asked">{", ".join(not_asked)}</dd>' in html
    text = _pdf_text(therapist.get(f"/visits/{visit_id}/summary.pdf").data)
    assert "Drowsiness (mild); none: nausea; not asked: dizziness, weakness" in text


def test_no_side_effects_and_none_asked_read_differently(app, therapist, clinic_world):
    pid = clinic_world["patient"].id
    draft_id, page = _start(therapist, pid)
    all_none = {f"se-{code}": "none" for code in scales.SIDE_EFFECTS}
    data = _without(_visit_data(page, **all_none), "se-drowsiness") | all_none
    first = therapist.post(f"/drafts/{draft_id}", data=data)
    first_id = int(first.location.split("/")[2])
    html = therapist.get(f"/visits/{first_id}").get_data(as_text=True)
    assert f"none (all {len(scales.SIDE_EFFECTS)} asked)" in html
    pdf = _pdf_text(therapist.get(f"/visits/{first_id}/summary.pdf").data)
    assert f"Side effects none (all {len(scales.SIDE_EFFECTS)} asked)" in pdf

    edit = therapist.post(f"/visits/{first_id}/edit").location
    edit_page = therapist.get(edit).get_data(as_text=True)
    nothing = _without(_visit_data(edit_page), *(f"se-{code}" for code in scales.SIDE_EFFECTS))
    assert therapist.post(edit, data=nothing).status_code == 302
    html = therapist.get(f"/visits/{first_id}").get_data(as_text=True)
    assert '<dt>Side effects</dt><dd class="se-not-asked">not asked</dd>' in html
    assert "none (all" not in html
    pdf = _pdf_text(therapist.get(f"/visits/{first_id}/summary.pdf").data)
    assert "Side effects not asked" in pdf


def test_error_summary_names_the_pending_carried_grades_once(therapist, clinic_world):
    pid = clinic_world["patient"].id
    draft_id, page = _start(therapist, pid)
    saved = therapist.post(f"/drafts/{draft_id}", data=_visit_data(page))
    visit_id = int(saved.location.split("/")[2])
    sign = {"meaning": "I performed and recorded this assessment", "password": PASSWORD}
    assert (
        therapist.post(f"/visits/{visit_id}/sign", data={**sign, "version": 1}).status_code == 302
    )

    draft_id, page = _start(therapist, pid)
    pending = re.findall(r'name="carry-([a-z_]+-(?:left|right))" value="pending"', page)
    assert len(pending) == 3  # elbow flexors left and right, knee flexors left
    data = _visit_data(page) | {f"carry-{key}": "pending" for key in pending}
    refused = therapist.post(f"/drafts/{draft_id}", data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    summary = html[html.index('class="error-summary"') : html.index("</ul>")]
    day = f"{date.today():%-d %b}"
    assert summary.count("<li>") == 1
    assert f"Keep or clear the 3 grades carried from {day}." in summary
    assert f'href="#mas-{pending[0]}-field"' in summary
    # Each field still says it beside itself.
    for key in pending:
        assert re.search(
            rf'id="mas-{key}-error">Keep or clear the grade carried from {day}\.<', html
        )
