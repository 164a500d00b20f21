"""The visit form and the visit page on iPad portrait: no axe violations, no sideways scrolling.

axe-core runs the WCAG 2.0-2.2 A/AA rules; every page is also checked for content wider than
the device and for tap targets under 44 px, with the optional parts (muscle picker, Tardieu)
opened so that their controls are checked too.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD, axe_violations, login, open_visit_form
from tests.browser.test_patients_browser import assert_fits_tablet

# axe is injected as an inline script, which the app's CSP rightly refuses.
pytestmark = pytest.mark.browser_context_args(bypass_csp=True)


def open_form(page: Page, base_url: str, patient_id: int) -> None:
    open_visit_form(page, base_url, patient_id)
    page.locator(".muscle-picker summary").tap()
    page.locator(".muscle-row:not([hidden]) .tardieu summary").first.tap()


def open_form_with_errors(page: Page, base_url: str, patient_id: int) -> None:
    open_visit_form(page, base_url, patient_id)
    # A severity without a frequency is refused next to the field.
    page.get_by_role("group", name="Spasm severity").get_by_role("radio", name="1 · Mild").tap()
    page.get_by_role("button", name="Review and sign").tap()
    expect(page.locator("#penn_severity-error")).to_be_visible()


def open_form_with_conflict(page: Page, base_url: str, patient_id: int) -> None:
    open_visit_form(page, base_url, patient_id)
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("group", name="Pain now").get_by_role("radio", name="8").tap()
    expect(other.locator("[data-save-status]")).to_have_text(re.compile("^Draft saved"))
    other.close()
    page.get_by_role("group", name="Pain now").get_by_role("radio", name="2", exact=True).tap()
    # The same user in another tab: asked in their own words ("Keep this tab's version").
    expect(page.get_by_role("button", name="Keep this tab's version")).to_be_visible()


def open_unsigned_visit(page: Page, base_url: str, patient_id: int) -> None:
    open_visit_form(page, base_url, patient_id)
    keep_all = page.get_by_role("button", name="Keep all carried grades")
    if keep_all.count():
        keep_all.tap()
    page.get_by_role("group", name="Pain now").get_by_role("radio", name="2", exact=True).tap()
    page.get_by_role("group", name="Drowsiness").get_by_role("radio", name="Mild").tap()
    page.get_by_label("Notes").fill("Tolerates the increase.")
    page.get_by_role("button", name="Review and sign").tap()
    expect(page).to_have_url(re.compile(r"/visits/\d+/review$"))


def open_visit_with_sign_error(page: Page, base_url: str, patient_id: int) -> None:
    open_unsigned_visit(page, base_url, patient_id)
    page.locator("#sign-password").fill("wrong password")
    page.get_by_role("button", name="Sign visit").tap()
    expect(page.locator("#sign-password-error")).to_be_visible()


def open_signed_visit(page: Page, base_url: str, patient_id: int) -> None:
    open_unsigned_visit(page, base_url, patient_id)
    page.locator("#sign-password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign visit").tap()
    expect(page.locator(".signature")).to_contain_text("Signed by")


def open_unsigned_visit_page(page: Page, base_url: str, patient_id: int) -> None:
    open_unsigned_visit(page, base_url, patient_id)
    page.goto(page.url.removesuffix("/review"))
    expect(page.get_by_role("link", name="Summary PDF")).to_be_visible()


def open_discard_page(page: Page, base_url: str, patient_id: int) -> None:
    open_unsigned_visit(page, base_url, patient_id)
    page.get_by_role("link", name="Discard this visit…").tap()
    page.get_by_role("button", name="Discard").tap()  # no reason: the message beside the field
    expect(page.locator("#reason-error")).to_be_visible()


PAGES = {
    "visit-form": open_form,
    "visit-form-errors": open_form_with_errors,
    "visit-form-conflict": open_form_with_conflict,
    "visit-unsigned": open_unsigned_visit,
    "visit-sign-error": open_visit_with_sign_error,
    "visit-signed": open_signed_visit,
    "visit-page-unsigned": open_unsigned_visit_page,
    "visit-discard": open_discard_page,
}


@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_visit_pages_are_accessible_on_ipad(page: Page, live_server, demo_patient_ids, open_page):
    login(page, live_server, "therapist@demo.test")
    # A demo patient: with the grades carried from the last signed visit when there is one.
    open_page(page, live_server, demo_patient_ids["DR-1001"])
    assert axe_violations(page) == []
    assert_fits_tablet(page)
