"""The summary PDF's layout: a usual visit (up to 12 muscles x 2 sides, no amendment) fits one
A4 or US Letter page with body text of at least 9 pt; a longer one flows on with the MAS
table's header repeated and no row cut."""

import io
import re
import subprocess
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from spastic.clinical import scales
from spastic.extensions import db
from spastic.models import Clinic, Visit
from spastic.reports.documents import _rendered, page_count
from spastic.reports.known import known_for
from tests.conftest import PASSWORD
from tests.test_summary_pdf import _text, _visit
from tests.test_visits import _visit_data

GRADES = ["0", "1", "1+", "2", "3", "4"]
# Labels that do not wrap in the grid's first column (the long ankle label takes two lines).
MUSCLES = [m for m in scales.MUSCLES if len(m.label) < 30]
MAS_HEADER = "Now Prev. Base vs prev. vs base Now Prev. Base vs prev. vs base"


def _pages(body: bytes) -> int:
    """The page count, read by poppler (pypdf parses the whole tagged structure to count)."""
    info = subprocess.run(["pdfinfo", "-"], input=body, capture_output=True, check=True).stdout
    return int(re.search(rb"^Pages:\s+(\d+)$", info, re.MULTILINE).group(1))


def _font_sizes(body: bytes) -> set[float]:
    """The size in points of every piece of text drawn, from the text and CTM matrices."""
    sizes: set[float] = set()

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            scale = (tm[2] ** 2 + tm[3] ** 2) ** 0.5 * (cm[2] ** 2 + cm[3] ** 2) ** 0.5
            sizes.add(round(font_size * scale, 2))

    for page in PdfReader(io.BytesIO(body)).pages:
        page.extract_text(visitor_text=visit)
    return sizes


@pytest.fixture
def demo(request, database):
    if not database.startswith("sqlite"):
        pytest.skip("the layout does not depend on the database; rendered once, on SQLite")
    return request.getfixturevalue("seeded_demo")


def _usual_visits() -> list[Visit]:
    visits = db.session.scalars(select(Visit).where(Visit.status == "signed").order_by(Visit.id))
    return [v for v in visits if not v.amendments and len(v.mas_scores) <= 24]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_every_usual_demo_visit_fits_one_page(demo, paper):
    """Every usual demo visit, those with several flags or a pump block included, is one page
    on both papers. Each visit is laid out once per paper (`page_count`: the pages the PDF is
    drawn from, not drawn); each patient's latest visit (the one a physician receives last) is
    rendered to a PDF and read back: one page, and everything is on it, down to the
    signature."""
    with demo.app_context(), demo.test_request_context():
        for clinic in db.session.scalars(select(Clinic)):
            clinic.paper_size = paper
        db.session.commit()
        ids = [v.id for v in _usual_visits()]
        assert len(ids) >= 30  # the demo's signed visits, not an empty loop
        latest = {db.session.get(Visit, i).patient_id: i for i in ids}
        longer, latest_pages = [], {}
        for visit_id in ids:
            visit = db.session.get(Visit, visit_id)
            if visit_id in latest.values():
                body = _rendered(visit, known_for(visit), store=False)
                pages = _pages(body)
                latest_pages[visit.patient.mrn] = " ".join(_text(body).split())
            else:
                pages = page_count(visit, known_for(visit))
            if pages != 1:
                longer.append(f"{visit.patient.mrn} {visit.visit_date}: {pages} pages")
    assert not longer, longer
    assert len(latest_pages) >= 15
    for mrn, page in latest_pages.items():
        assert f"MRN {mrn}" in page and "Page 1 of 1" in page, mrn
        for part in ("Verdict", "Modified Ashworth Scale", "Trend against dose", "Also recorded"):
            assert part in page, (mrn, part)
        assert "Signature Signed by" in page, mrn
    assert "Intrathecal pump (as on" in latest_pages["DR-1016"]  # a pump block, on the page
    assert "Older flags, still listed" in latest_pages["DR-1009"]


def test_body_text_is_at_least_9_pt(demo):
    with demo.app_context(), demo.test_request_context():
        visit = next(v for v in _usual_visits()[::-1] if v.patient.mrn == "DR-1002")
        body = _rendered(visit, known_for(visit), store=False)
    sizes = _font_sizes(body)
    assert sizes and min(sizes) >= 9, sorted(sizes)
    assert "No further response to the last 2 increases" in _text(body)


def _all_muscles(page, offset):
    grades = {
        f"mas-{m.code}-{side}": GRADES[(i + offset + (side == "right")) % 5]
        for i, m in enumerate(scales.MUSCLES)
        for side in scales.SIDES
    }
    return _visit_data(page, muscles=[m.code for m in scales.MUSCLES], **grades)


def _titrate(client, pid):
    doses = (45, 60, 75, 90, 100, 120, 100, 80, 90, 100, 110, 120)
    for i, dose in enumerate(doses * 2):  # enough that the tables run over onto page 2
        day = date(2026, 2, 11) + timedelta(days=i)
        change = {"effective_date": day.isoformat(), "route": "oral", "unit": "mg/day"}
        change |= {"daily_dose": str(dose), "submission_key": f"t{i}", "reason": "titration"}
        assert client.post(f"/patients/{pid}/doses/new", data=change).status_code == 302


def test_a_long_visit_flows_on_with_repeated_headers_and_no_row_cut(
    app, client, auth, clinic_world
):
    auth.login(clinic_world["therapist"])
    pid = clinic_world["patient"].id
    _visit(client, pid, visit_date="2026-01-10")
    for n, (day, offset) in enumerate([("2026-02-10", 0), ("2026-03-10", 1)]):
        if n:  # many dose changes between the visits: long flag and dose tables on page 1
            _titrate(client, pid)
        draft = client.post(f"/patients/{pid}/visits/new").location
        page = client.get(draft).get_data(as_text=True)
        data = _all_muscles(page, offset) | {"visit_date": day}
        data.update({k: "kept" for k in re.findall(r'name="carry-([a-z_]+-(?:left|right))"', page)})
        visit_id = int(client.post(draft, data=data).location.split("/")[2])
        sign = {"meaning": "I performed and recorded this assessment", "password": PASSWORD}
        assert (
            client.post(f"/visits/{visit_id}/sign", data=sign | {"version": "1"}).status_code == 302
        )
    for reason in ("Transcription error", "Second look at the ankle"):
        page = client.get(f"/visits/{visit_id}/amend").get_data(as_text=True)
        data = _all_muscles(page, 2) | {"visit_date": "2026-03-10", "notes": reason * 3}
        data.update(reason=reason, password=PASSWORD, submission_key=f"amend-{reason[:6]}")
        assert client.post(f"/visits/{visit_id}/amend", data=data).status_code == 302
    body = client.get(f"/visits/{visit_id}/summary.pdf").data
    pages = [" ".join(p.split()) for p in _text(body).split("\f")[:-1]]
    assert len(pages) >= 2
    rows = {m.label: re.compile(re.escape(m.label) + r"(?: (?:[0-4]\+?|-)){2}") for m in MUSCLES}
    with_rows = [p for p in pages if any(row.search(p) for row in rows.values())]
    assert with_rows
    for page in with_rows:  # the MAS header row is on every page the table is on
        assert MAS_HEADER in page
    # Each table repeats its header row on every page its rows are on, and one runs over.
    tables = {  # a row's text -> the table's header text
        re.compile(r"Caution New, in the verdict above"): "Level Finding · source",
        re.compile(r"Worst pain in 24 h \d"): "Measure Prev. Base Now Since previous, ",
        re.compile(r"\d{1,2} \w{3} 2026 Oral \d+ mg/day"): "From Route Daily dose Schedule Reason",
    }
    tables |= {row: MAS_HEADER for row in rows.values()}
    spans = set()
    for n, page in enumerate(pages):
        for row, header in tables.items():
            if row.search(page):
                assert header in page, (n, header)
                spans.add((header, n))
    assert len({h for h, _ in spans}) < len(spans), "some table runs over a page break"
    flat = " ".join(pages)
    for label, row in rows.items():  # every row whole: its label and its grades together
        assert row.search(flat), label
    assert "Transcription error" in flat and "Second look at the ankle" in flat
    with app.app_context(), app.test_request_context():  # the layout alone counts them alike
        visit = db.session.get(Visit, visit_id)
        assert page_count(visit, known_for(visit)) == len(pages) == _pages(body)
