"""From the form's last button to a signed visit by touch: the review page, its taps, its look."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login, open_visit_form
from tests.browser.test_patients_browser import assert_fits_tablet
from tests.browser.test_visit_browser import THERAPIST, tap_grades
from tests.browser.test_visit_form_size import TapCounter, shot

TAPS_FORM_TO_SIGNED = 3  # Review and sign, the password field, Sign visit


@pytest.mark.parametrize("viewport", ["ipad-portrait", "ipad-landscape"], indirect=True)
def test_from_the_form_to_signed_in_three_taps(
    page: Page, live_server, add_patient, viewport, console_errors
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    open_visit_form(page, live_server, patient_id)
    tap_grades(page, {("hip_flexors", "left"): "2", ("knee_extensors", "right"): "1+"})
    expect(page.locator("[data-save-status]")).to_have_text(re.compile(r"\d\d:\d\d"))

    taps = TapCounter()
    taps.tap(page.get_by_role("button", name="Review and sign"))
    expect(page).to_have_url(re.compile(r"/visits/\d+/review$"))
    expect(page.locator("#review-status")).to_have_text(
        re.compile(r"^Visit saved \d\d:\d\d, not signed\.")
    )
    rows = page.locator(".mas-table tbody tr")
    expect(rows.filter(has_text="Hip flexors - Left")).to_contain_text("2")
    expect(
        page.get_by_text("No earlier signed visit: this one will be the baseline.")
    ).to_be_visible()
    assert_fits_tablet(page)
    shot(page, f"review-{viewport}")

    taps.tap(page.locator("#sign-password"))
    page.keyboard.type("spastic-demo")
    taps.tap(page.get_by_role("button", name="Sign visit"))
    # Signing renders and stores the summary PDF before it answers: seconds on a loaded machine.
    expect(page.locator("#visit-status")).to_have_text(
        re.compile(r"^Signed \d\d:\d\d by Tess Mills on "), timeout=30_000
    )
    expect(page.get_by_role("link", name="Summary PDF")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    shot(page, f"signed-{viewport}")
    assert taps.count <= TAPS_FORM_TO_SIGNED
    assert console_errors == []


def test_print_button_prints(page: Page, live_server, demo_patient_ids):
    login(page, live_server, THERAPIST)
    page.goto(f"{live_server}/patients/{demo_patient_ids['DR-1001']}")
    page.get_by_role("link", name=re.compile(r"^Open")).first.tap()
    expect(page).to_have_url(re.compile(r"/visits/\d+$"))
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.get_by_role("button", name="Print").tap()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
