"""The physician inbox by touch on an iPad: open an unread summary, acknowledge it, and the
therapist sees it on the visit; the inbox pages have no axe violations."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations, login

# axe is injected as an inline script, which the app's CSP rightly refuses.
pytestmark = pytest.mark.browser_context_args(bypass_csp=True)


def test_a_physician_acknowledges_from_the_inbox(page: Page, live_server, new_context, playwright):
    login(page, live_server, "physician@demo.test")
    expect(page.get_by_role("heading", name="Summaries for you")).to_be_visible()
    assert axe_violations(page) == []
    unread = page.locator("table.inbox tbody tr.unread").filter(has_text="BRENNAN, Michael")
    expect(unread.locator("strong").first).to_have_text("BRENNAN, Michael")
    unread.get_by_role("link", name="BRENNAN, Michael").tap()
    expect(page.get_by_role("heading", name="In short")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Acknowledge").tap()
    expect(page.get_by_text("You acknowledged version 1 on")).to_be_visible()
    visit_url = page.get_by_role("link", name="The visit").get_attribute("href")
    page.get_by_role("link", name="Back to summaries").tap()
    row = page.locator("table.inbox tbody tr").filter(has_text="BRENNAN, Michael").first
    expect(row).not_to_have_class("unread")
    expect(row).to_contain_text("Acknowledged")

    from tests.browser.conftest import context_options

    therapist = new_context(**context_options(playwright, "ipad-portrait")).new_page()
    login(therapist, live_server, "therapist@demo.test")
    therapist.goto(live_server + visit_url)
    section = therapist.locator("#summary-versions")
    expect(section).to_contain_text("Acknowledged by Dr Paul Okafor, ")
    assert axe_violations(therapist) == []
    therapist.goto(f"{live_server}/summaries/unacknowledged")
    expect(therapist.locator("table")).not_to_contain_text("BRENNAN")
    expect(therapist.locator("table")).to_contain_text("ADEYEMI, Grace")
    assert axe_violations(therapist) == []
