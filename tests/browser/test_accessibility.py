"""axe-core finds no WCAG 2.0-2.2 A/AA violations on the main pages (iPad portrait)."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations, login

# axe is injected as an inline script, which the app's CSP rightly refuses.
pytestmark = pytest.mark.browser_context_args(bypass_csp=True)


def open_login(page: Page, base_url: str, patient_id: int) -> None:
    page.goto(f"{base_url}/login")


def open_login_with_errors(page: Page, base_url: str, patient_id: int) -> None:
    page.goto(f"{base_url}/login")
    submit(page, "Log in")


def open_patient_list(page: Page, base_url: str, patient_id: int) -> None:
    login(page, base_url, "therapist@demo.test")


def open_patient(page: Page, base_url: str, patient_id: int) -> None:
    login(page, base_url, "therapist@demo.test")
    page.goto(f"{base_url}/patients/{patient_id}")


def open_new_patient_form(page: Page, base_url: str, patient_id: int) -> None:
    login(page, base_url, "therapist@demo.test")
    page.goto(f"{base_url}/patients/new")


def open_new_patient_form_with_errors(page: Page, base_url: str, patient_id: int) -> None:
    open_new_patient_form(page, base_url, patient_id)
    submit(page, "Register patient")


def open_dose_form(page: Page, base_url: str, patient_id: int) -> None:
    login(page, base_url, "therapist@demo.test")
    page.goto(f"{base_url}/patients/{patient_id}/doses/new")


def open_users(page: Page, base_url: str, patient_id: int) -> None:
    login(page, base_url, "admin@demo.test")


def submit(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).tap()
    expect(page.locator(".error").first).to_be_visible()


PAGES = {
    "login": open_login,
    "login-errors": open_login_with_errors,
    "patient-list": open_patient_list,
    "patient-detail": open_patient,
    "new-patient-form": open_new_patient_form,
    "new-patient-form-errors": open_new_patient_form_with_errors,
    "dose-change-form": open_dose_form,
    "admin-users": open_users,
}


@pytest.mark.parametrize("open_page", PAGES.values(), ids=PAGES.keys())
def test_no_axe_violations(page: Page, live_server, demo_patient_ids, open_page):
    open_page(page, live_server, demo_patient_ids["DR-1001"])
    assert axe_violations(page) == []
