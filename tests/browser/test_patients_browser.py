"""Finding a patient by touch on tablet viewports, and another clinic seeing none of them."""

import json
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from spastic.clinical.scales import ROUTE_UNITS
from spastic.demo.seed import PATIENTS_FILE
from tests.browser.conftest import VIEWPORTS, login

# Tap targets must be at least 44x44 CSS px (WCAG 2.5.5 AAA; our own rule for a tablet used
# in a clinic). Exempt, as in WCAG 2.5.8: links inline in a sentence (an <a> inside a <p>
# that is not styled as a button), and radio buttons and checkboxes inside a label, whose
# tap target is the label (checked itself).
SMALL_TAP_TARGETS = """() => {
  const selector =
    "a, button, input:not([type=hidden]), select, textarea, label.choice, label.check";
  const inlineLink = el => el.matches("p a:not(.button)");
  const insideLabel = el => el.matches("label input[type=radio], label input[type=checkbox]");
  return [...document.querySelectorAll(selector)]
    .filter(el => el.checkVisibility() && !inlineLink(el) && !insideLabel(el))
    .map(el => [el, el.getBoundingClientRect()])
    .filter(([, r]) => r.right > 0 && r.bottom > 0 && (r.width < 44 || r.height < 44))
    .map(([el, r]) => `${el.outerHTML.slice(0, 80)}: ${r.width | 0}x${r.height | 0}`);
}"""


def dose_in_force(mrn: str) -> str:
    """Return the demo patient's daily dose in force today, as the detail page prints it."""
    row = next(r for r in json.loads(PATIENTS_FILE.read_text()) if r["mrn"] == mrn)
    current = min((d for d in row["regimen"] if d["days_ago"] >= 0), key=lambda d: d["days_ago"])
    number = format(Decimal(str(current["daily_dose"])).normalize(), "f")
    return f"{number} {ROUTE_UNITS[current['route']]} {current['route']}"


def assert_fits_tablet(page: Page) -> None:
    # On a touch tablet (is_mobile) Chromium widens the layout viewport, and innerWidth with
    # it, to fit wide content, so compare with the device's width instead.
    content = page.evaluate("Math.max(document.documentElement.scrollWidth, window.innerWidth)")
    device = page.viewport_size["width"]
    assert content <= device, f"horizontal scrolling: content {content} px > {device} px"
    assert page.evaluate(SMALL_TAP_TARGETS) == []


@pytest.mark.parametrize("viewport", VIEWPORTS, indirect=True)
def test_therapist_finds_a_patient_by_touch(page: Page, live_server, console_errors):
    login(page, live_server, "therapist@demo.test")
    assert_fits_tablet(page)
    results = page.locator("#patient-results")
    expect(results).to_contain_text("ALVAREZ, Sofia")
    expect(results).not_to_contain_text("FISCHER")
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Find by name or MRN").press_sequentially("Nguy", delay=40)

    expect(results).not_to_contain_text("ALVAREZ")
    expect(results.get_by_role("link")).to_have_count(1)
    assert page.evaluate("window.notReloaded"), "the search submitted the page"
    assert_fits_tablet(page)
    results.get_by_role("link", name="NGUYEN, Linh").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("NGUYEN, Linh")
    expect(page.get_by_text("MRN DR-1001")).to_be_visible()
    expect(page.locator(".dose-now")).to_have_text(dose_in_force("DR-1001"))
    assert_fits_tablet(page)
    assert [e for e in console_errors if "Content Security Policy" in e] == []
    assert console_errors == []


def test_other_clinic_sees_none_of_demo_rehabs_patients(page: Page, live_server, demo_patient_ids):
    login(page, live_server, "therapist@other.test")
    results = page.locator("#patient-results")
    expect(results).to_contain_text("FISCHER, Anna")
    expect(results).not_to_contain_text("NGUYEN")

    page.get_by_label("Find by name or MRN").press_sequentially("Nguy", delay=40)

    expect(results).to_have_text(
        "No patient matches “Nguy”: names and MRNs are found by the start of any of their"
        " words. Look for “Nguy” inside names and MRNs too"
    )
    for mrn in ("DR-1001", "DR-1004"):
        patient_id = demo_patient_ids[mrn]
        for page_of_patient in ("", "/edit", "/doses/new"):
            path = f"/patients/{patient_id}{page_of_patient}"
            response = page.goto(live_server + path)
            assert response.status == 404, path
            expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
            expect(page.locator("main")).not_to_contain_text(mrn)
