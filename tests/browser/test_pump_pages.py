"""Pump pages and the worklist by touch: axe-clean, no sideways scrolling, 44 px targets, and a
refill recorded with two taps after typing."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import VIEWPORTS, axe_violations, login
from tests.browser.test_patients_browser import assert_fits_tablet


def _pump_patient(page: Page, base_url: str, ids: dict) -> None:
    login(page, base_url, "therapist@demo.test")
    page.goto(f"{base_url}/patients/{ids['DR-1013']}")


def _refill_form_with_errors(page: Page, base_url: str, ids: dict) -> None:
    _pump_patient(page, base_url, ids)
    with page.expect_navigation():
        page.get_by_role("link", name="Record a refill").tap()
    page.get_by_label("Volume added (mL: the volume now in the reservoir)").fill("99")
    with page.expect_navigation():
        page.get_by_role("button", name="Record refill").tap()
    expect(page.locator(".error").first).to_be_visible()


def _pump_form(page: Page, base_url: str, ids: dict) -> None:
    _pump_patient(page, base_url, ids)
    with page.expect_navigation():
        page.get_by_role("link", name="Replace pump").tap()


def _worklist_pumps(page: Page, base_url: str, ids: dict) -> None:
    login(page, base_url, "therapist@demo.test")
    with page.expect_navigation():
        page.get_by_role("link", name="Pumps").tap()


def _trend(page: Page, base_url: str, ids: dict) -> None:
    login(page, base_url, "physician@demo.test")
    page.goto(f"{base_url}/patients/{ids['DR-1013']}/trend")


def _clinic_settings(page: Page, base_url: str, ids: dict) -> None:
    login(page, base_url, "admin@demo.test")
    page.goto(f"{base_url}/admin/clinic")


# axe is injected as an inline script, which the app's CSP rightly refuses.
PAGES = {
    "pump-patient": _pump_patient,
    "refill-form-errors": _refill_form_with_errors,
    "pump-form": _pump_form,
    "worklist-pumps": _worklist_pumps,
    "trend-with-pump": _trend,
    "clinic-settings": _clinic_settings,
}


@pytest.mark.browser_context_args(bypass_csp=True)
@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_no_axe_violations(page: Page, live_server, demo_patient_ids, open_page):
    open_page(page, live_server, demo_patient_ids)
    assert axe_violations(page) == []


@pytest.mark.parametrize("viewport", VIEWPORTS, indirect=True)
def test_worklist_and_pump_card_fit_the_tablet(page: Page, live_server, demo_patient_ids):
    login(page, live_server, "therapist@demo.test")
    # Measured and tapped once its stylesheet is in: before that the rows are laid out
    # differently and a tap can land beside the link.
    page.wait_for_load_state("load")
    rows = page.locator("table.worklist tbody tr")
    expect(rows.first).to_contain_text("KOWALSKI, Piotr")
    expect(rows.first).to_contain_text("Urgent")
    assert_fits_tablet(page)
    page.get_by_role("link", name="ADEYEMI, Grace").tap()
    page.wait_for_url("**/patients/*")
    expect(page.locator("#pump")).to_contain_text("3.0 mL less was drawn out than expected")
    page.get_by_text("How these dates are computed").tap()
    expect(page.locator(".arithmetic")).to_contain_text("mL a day")
    assert_fits_tablet(page)


def test_a_refill_by_touch_moves_the_dates(page: Page, live_server, demo_patient_ids):
    _pump_patient(page, live_server, demo_patient_ids)
    before = page.locator(".pump-dates dd").first.inner_text()
    page.get_by_role("link", name="Record a refill").tap()
    expected = page.locator(".facts dd").nth(1).inner_text()
    assert expected.endswith("(from the last fill and the doses since)")
    page.get_by_label("Volume drawn out (actual residual, mL)").fill(expected.split(" ")[0])
    page.get_by_label("Volume added (mL: the volume now in the reservoir)").fill("40")
    page.get_by_role("button", name="Record refill").tap()
    expect(page.get_by_text("The refill is recorded")).to_be_visible()
    assert page.locator(".pump-dates dd").first.inner_text() != before
    expect(page.locator("#pump")).not_to_contain_text("less was drawn out")
