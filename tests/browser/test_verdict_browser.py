"""The verdict is read whole on the first screen of an iPad Pro 11 in portrait, for every demo
patient: no scrolling needed to see its last line."""

import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations, login

SHOTS = os.environ.get("SPASTIC_SHOTS")  # a folder outside the repo, to look at the pages


def _clinics(demo_database: Path) -> dict[str, list[tuple[str, int]]]:
    with closing(sqlite3.connect(demo_database)) as connection:
        rows = connection.execute(
            "SELECT clinic.name, patient.mrn, patient.id FROM patient "
            "JOIN clinic ON clinic.id = patient.clinic_id ORDER BY patient.mrn"
        ).fetchall()
    found: dict[str, list[tuple[str, int]]] = {}
    for clinic, mrn, patient_id in rows:
        found.setdefault(clinic, []).append((mrn, patient_id))
    return found


ACCOUNT = {"Demo Rehab": "therapist@demo.test", "Other Clinic": "therapist@other.test"}


def test_the_whole_verdict_is_on_the_first_screen_for_every_demo_patient(
    page: Page, live_server, demo_database
):
    height = page.viewport_size["height"]
    assert (page.viewport_size["width"], height) == (834, 1194)
    checked = []
    for clinic, patients in _clinics(demo_database).items():
        login(page, live_server, ACCOUNT[clinic])
        for mrn, patient_id in patients:
            page.goto(f"{live_server}/patients/{patient_id}/trend")
            verdict = page.locator("#verdict")
            expect(verdict).to_be_visible()
            assert page.evaluate("window.scrollY") == 0
            box = verdict.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, (mrn, box)
            # Nothing but the page heading comes before it.
            first = page.evaluate("document.querySelector('main section, main .card').id")
            assert first == "verdict", mrn
            if SHOTS:
                page.screenshot(path=f"{SHOTS}/trend-{mrn}.png")
            checked.append(mrn)
        with page.expect_navigation():
            page.get_by_role("button", name="Log out").tap()
    assert len(checked) >= 16


def _brennan_trend(page: Page, base_url: str, ids: dict) -> None:
    login(page, base_url, "physician@demo.test")
    page.goto(f"{base_url}/patients/{ids['DR-1002']}/trend")


def _switch_form_with_errors(page: Page, base_url: str, ids: dict) -> None:
    login(page, base_url, "therapist@demo.test")
    page.goto(f"{base_url}/patients/{ids['DR-1001']}")
    with page.expect_navigation():
        page.get_by_role("link", name="Switch route").tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Record the switch").tap()
    expect(page.locator(".error").first).to_be_visible()


@pytest.mark.browser_context_args(bypass_csp=True)
@pytest.mark.parametrize("open_page", [_brennan_trend, _switch_form_with_errors])
def test_no_axe_violations(page: Page, live_server, demo_patient_ids, open_page):
    open_page(page, live_server, demo_patient_ids)
    assert axe_violations(page) == []


def test_a_route_switch_by_touch(page: Page, live_server, demo_patient_ids):
    login(page, live_server, "therapist@demo.test")
    page.goto(f"{live_server}/patients/{demo_patient_ids['DR-1001']}")
    with page.expect_navigation():
        page.get_by_role("link", name="Switch route").tap()
    page.get_by_label("Total daily dose of the new route").fill("100")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the switch").tap()
    expect(page.get_by_text("The route switch is recorded")).to_be_visible()
    expect(page.locator(".dose-now")).to_have_text(
        re.compile(r"^100 mcg/day intrathecal; oral stopped on \d+ \w+ \d{4}$")
    )
    page.goto(f"{live_server}/patients/{demo_patient_ids['DR-1001']}/trend")
    expect(page.locator("#verdict")).to_contain_text("oral stopped (from 60 mg/day)")
    expect(page.locator("#verdict")).to_contain_text("Warning")  # the abrupt stop, new
