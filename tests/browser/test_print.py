"""Printing the trend page and the visit page: A4 and US Letter, no navigation, no buttons.

Chromium's page.pdf() prints with the print stylesheet, as the browser's Print does; the PDF's
pages and text are read back with pypdf. Screenshots of the pages go to /tmp/shots-h-c/.
"""

import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import login

THERAPIST = "therapist@demo.test"
SHOTS = Path(os.environ.get("SPASTIC_SHOTS", "/tmp/shots-h-c"))
# The richest demo history: oral titration over many signed visits.
PATIENT = "DR-1001"
NAVIGATION = ("Worklist", "Log out", "Back to patient", "Skip to content", "Stay logged in")


def _printed(page: Page, paper: str, name: str) -> PdfReader:
    pdf = page.pdf(format=paper, print_background=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{paper}.pdf"
    path.write_bytes(pdf)
    if os.environ.get("SPASTIC_SHOTS_PNG"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", path, path.with_suffix("")], check=True)
    return PdfReader(io.BytesIO(pdf))


def _text(reader: PdfReader) -> str:
    return "\n".join(p.extract_text() for p in reader.pages)


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_trend_page_prints_on_three_sheets_without_navigation(
    page: Page, live_server, demo_patient_ids, paper
):
    login(page, live_server, THERAPIST)
    page.goto(f"{live_server}/patients/{demo_patient_ids[PATIENT]}/trend")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    reader = _printed(page, paper, "trend")
    text = _text(reader)
    assert "Trend" in text and PATIENT in text  # the page itself is printed
    assert "Grades by visit" in text
    for words in NAVIGATION:
        assert words not in text, words
    assert "Print" not in text  # no buttons on paper
    # Before the print stylesheet: 5 pages, the navigation bar and buttons on the first.
    assert len(reader.pages) <= 3, f"{len(reader.pages)} pages on {paper}"
    pages = [p.extract_text() for p in reader.pages]
    assert "Tone, pain and dose over time" in pages[0]  # the chart starts the first sheet
    [grid] = [i for i, words in enumerate(pages) if "Grades by visit" in words]
    assert "Sides at 1+ or above" in pages[grid], "the grid is cut across two sheets"
    # The grid's first column is the first visit the subtitle names (the demo's dates move).
    first = re.search(r"signed visits, (\d{1,2} \w{3} \d{4}) to", pages[0]).group(1)
    assert first in pages[grid] and "Side effects" in pages[grid].replace("\ufb00", "ff")


def test_the_print_button_opens_the_browser_print(page: Page, live_server, demo_patient_ids):
    login(page, live_server, THERAPIST)
    page.goto(f"{live_server}/patients/{demo_patient_ids[PATIENT]}/trend")
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.get_by_role("button", name="Print").tap()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_visit_page_prints_without_navigation(
    page: Page, live_server, demo_database, demo_patient_ids, paper
):
    login(page, live_server, THERAPIST)
    page.goto(f"{live_server}/patients/{demo_patient_ids[PATIENT]}")
    page.locator("a[href*='/visits/']").first.click()
    expect(page).to_have_url(re.compile(r"/visits/\d+$"))
    reader = _printed(page, paper, "visit")
    text = _text(reader)
    assert PATIENT in text
    for words in NAVIGATION:
        assert words not in text, words
    # Before the print stylesheet: 3 pages with the navigation bar and every button.
    assert len(reader.pages) <= 2, f"{len(reader.pages)} pages on {paper}"
