"""The summary's lean user-agent stylesheet (spastic/reports/pdf.py): WeasyPrint's own without
its every-element pseudo-element rules, and the same pages, pixel for pixel, as the stock one."""

import subprocess

import pytest
import weasyprint
from sqlalchemy import select
from weasyprint.html import UA, UA_STYLESHEET

from spastic.extensions import db
from spastic.models import Visit
from spastic.reports import pdf
from spastic.reports.documents import summary_html, summary_sources
from spastic.reports.known import known_for


@pytest.fixture
def demo(request, database):
    if not database.startswith("sqlite"):
        pytest.skip("the rendering does not depend on the database; compared once, on SQLite")
    return request.getfixturevalue("seeded_demo")


def test_the_installed_weasyprint_gets_the_lean_sheet():
    """The rules are found in this WeasyPrint's sheet (a version that changes them gets the
    stock sheet, and this test says so), and only they are changed."""
    lean = pdf.lean_user_agent_css(UA)
    assert lean is not None
    assert pdf._shared_user_agent() is not UA_STYLESHEET
    assert pdf.document("<p>x</p>")._ua_stylesheets() == [pdf._shared_user_agent()]
    removed = set(UA.splitlines()) - set(lean.splitlines())
    added = set(lean.splitlines()) - set(UA.splitlines())
    assert {line.split(" {")[0] for line in removed} == {
        "::marker",
        "::footnote-call",
        "::footnote-marker",
        "::note-call",
        "::note-marker",
        "::note-callback",
    }
    assert [line.split(" {")[0] for line in added] == ["li::marker"]
    assert pdf.lean_user_agent_css(UA.replace("::marker {", "::marker{")) is None


def _pixels(body: bytes, tmp_path, name: str) -> list[bytes]:
    (tmp_path / f"{name}.pdf").write_bytes(body)
    prefix = tmp_path / name
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(prefix) + ".pdf", str(prefix)], check=True)
    return [p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.png"))]


def _both(html: str, page_css: str) -> tuple[bytes, bytes]:
    fonts, stylesheet, fetcher = pdf._shared()
    sheets = [stylesheet, weasyprint.CSS(string=page_css, font_config=fonts)]
    options = {"stylesheets": sheets, "font_config": fonts, "pdf_variant": "pdf/a-3a"}
    stock = weasyprint.HTML(string=html, base_url=pdf.STATIC_URL, url_fetcher=fetcher)
    return stock.write_pdf(**options), pdf.document(html).write_pdf(**options)


def test_demo_summaries_print_the_same_as_with_the_stock_sheet(demo, tmp_path):
    """Each demo patient's latest visit, on A4 or Letter, flag lists (the only list items, with
    their markers) included: identical pages at 80 dpi."""
    with demo.app_context(), demo.test_request_context():
        visits = db.session.scalars(select(Visit).where(Visit.status == "signed"))
        latest = {v.patient_id: v for v in sorted(visits, key=lambda v: v.visit_date)}
        compared, with_markers = 0, 0
        for index, visit in enumerate(latest.values()):
            context, _ = summary_sources(visit, known_for(visit))
            html = summary_html(context)
            paper = "A4" if index % 2 else "letter"
            stock, lean = _both(html, f"@page {{ size: {paper}; }}")
            before = _pixels(stock, tmp_path, f"stock{index}")
            assert before == _pixels(lean, tmp_path, f"lean{index}"), visit.patient.mrn
            compared += 1
            with_markers += '<ul class="verdict-flags">' in html
    assert compared >= 8
    assert with_markers >= 1  # a flag list's bullets are drawn by li::marker
