"""The verdict block: first on the trend page and on page 1 of the PDF, as the pure core says.

Also: the dose in force reads the same on every page, and MCID verdicts name their source.
"""

from datetime import date

import pytest
from sqlalchemy import select

from spastic.clinical.verdict import verdict
from spastic.extensions import db
from spastic.models import Patient
from spastic.trends.presenter import load_trend, patient_context, verdict_of
from spastic.visits.content import signed_visits
from tests.test_summary_pdf import _text
from tests.test_trend_page import PageText, _expected, history  # noqa: F401 - a fixture

CAVEAT = "stroke-derived reference (Chen 2019); no MCID established for {}"


def _verdict_html(html: str) -> str:
    start = html.index('<section class="verdict')
    return html[start : html.index("</section>", start)]


def test_the_verdict_comes_before_everything_else(app, client, auth, history):  # noqa: F811
    patient = history["patient"]
    auth.login(history["therapist"])
    html = client.get(f"/patients/{patient.id}/trend").get_data(as_text=True)
    main = html[html.index("<main") :]
    first_section = main.index("<section")
    assert main[first_section:].startswith('<section class="verdict')
    assert main.index('<section class="verdict') < main.index("<h2")
    assert "<img" not in main[:first_section] and "badge" not in main[:first_section]
    trend = _expected(app, patient.id)
    with app.app_context():
        context = patient_context(db.session.get(Patient, patient.id))
    expected = verdict(trend, context, date.today())
    block = PageText(_verdict_html(html)).plain
    assert block.startswith(f"Verdict {expected.response.headline}")
    for sentence in (expected.response.reason, *expected.response.steps, expected.regimen):
        if sentence:
            assert sentence in block
    for flag in expected.new_flags:
        assert " ".join(flag.message.split()) in block
    assert "rho" not in block


@pytest.fixture
def seeded(seeded_demo):
    with seeded_demo.app_context():
        return {p.mrn: p.id for p in db.session.scalars(select(Patient))}


def _login(client, email="physician@demo.test"):
    client.post("/login", data={"email": email, "password": "spastic-demo"})


def _pdf_pages(client, visit_id) -> list[str]:
    pdf = client.get(f"/visits/{visit_id}/summary.pdf").data
    return [" ".join(page.split()) for page in _text(pdf).split("\f")]


def _latest_visit(app, patient_id):
    with app.app_context():
        return signed_visits(patient_id)[-1].id


def test_brennan_reads_no_further_response_first(seeded, app, client):
    _login(client)
    html = client.get(f"/patients/{seeded['DR-1002']}/trend").get_data(as_text=True)
    text = PageText(html[html.index("<main") :]).plain
    verdict_at = text.index("Verdict No further response to the last 2 increases")
    assert "30 → 45 mg/day oral; 45 → 60 mg/day oral" in text
    assert text.find("MCID", 0, verdict_at) == -1  # nothing about MCID before the verdict
    assert "Improved, ≥ 0.5 SD MCID" not in text[:verdict_at]
    assert CAVEAT.format("multiple sclerosis") in PageText(_verdict_html(html)).plain
    # Spearman's rho: with its n and the caption, never in the verdict.
    assert "rho" not in _verdict_html(html)
    assert "(n = 5 visits)" in text and "is not a test of cause" in text
    page1 = _pdf_pages(client, _latest_visit(app, seeded["DR-1002"]))[0]
    assert "Verdict No further response to the last 2 increases" in page1
    assert CAVEAT.format("multiple sclerosis") in page1
    assert page1.index("Verdict") < page1.index("Attention")


@pytest.mark.parametrize(
    ("mrn", "name"), [("DR-1002", "multiple sclerosis"), ("DR-1001", "spinal cord injury")]
)
def test_every_mcid_verdict_in_the_pdf_says_it_is_stroke_derived(seeded, app, client, mrn, name):
    _login(client, "therapist@demo.test")
    text = " ".join(_pdf_pages(client, _latest_visit(app, seeded[mrn])))
    judged = text.count("SD MCID")
    assert judged >= 1
    assert text.count(CAVEAT.format(name)) >= judged
    assert "mean index" not in text.lower()


def test_a_stroke_patient_gets_no_caveat(seeded, app, client):
    _login(client, "therapist@demo.test")
    text = " ".join(_pdf_pages(client, _latest_visit(app, seeded["DR-1004"])))
    assert "SD MCID" in text and "stroke-derived" not in text


def test_the_combined_regimen_reads_the_same_on_every_page(seeded, app, client):
    _login(client, "therapist@demo.test")
    pid = seeded["DR-1015"]
    sentence = "60 mg/day oral + 240 mcg/day intrathecal"
    visit_id = _latest_visit(app, pid)
    pages = {
        "patient": client.get(f"/patients/{pid}").get_data(as_text=True),
        "visit": client.get(f"/visits/{visit_id}").get_data(as_text=True),
        "trend": _verdict_html(client.get(f"/patients/{pid}/trend").get_data(as_text=True)),
    }
    for name, html in pages.items():
        assert f'class="dose-now regimen">{sentence}<' in html or (
            f'class="regimen">{sentence}<' in html or f"<strong>{sentence}</strong>" in html
        ), name
    page1 = _pdf_pages(client, visit_id)[0]
    assert page1.count(sentence) >= 2  # the identity block and the verdict


def test_the_demo_shows_every_verdict_kind(seeded, app):
    with app.app_context():
        kinds = {}
        for patient in db.session.scalars(select(Patient)):
            found = verdict_of(load_trend(patient), patient, date.today())
            kinds.setdefault(found.response.kind, set()).add(patient.mrn)
    assert {"responding", "no_further_response", "worse", "too_early"} <= set(kinds)
    assert kinds["no_further_response"] == {"DR-1002"}
    assert "DR-1010" in kinds["worse"] and "DR-1001" in kinds["responding"]
    assert {"DR-1013", "DR-1014"} <= kinds["too_early"]


def test_the_demo_route_switch_is_judged_as_an_abrupt_stop(seeded, app):
    with app.app_context():
        patient = db.session.get(Patient, seeded["DR-1016"])
        trend = load_trend(patient)
        assert {"oral", "intrathecal"} == set(trend.dose_history)
        assert "abrupt_stop" in {f.code for f in trend.flags}
        found = verdict_of(trend, patient, date.today())
        assert found.regimen.startswith("100 mcg/day intrathecal; oral stopped on ")
        assert found.response.steps[0].startswith("oral stopped (from 60 mg/day)")
