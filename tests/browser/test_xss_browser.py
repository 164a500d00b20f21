"""Stored script in every free-text field runs nowhere in Chromium: not with the CSP, not without.

The payloads are stored through the app's own forms (tests.test_hostile_text.store_everywhere)
in the live server's database, each field getting one of them in turn. Each payload would set
`window.__xss`, open a dialog or throw (family names are printed in capitals, which turns
`window.__xss` into an undefined name) if it ran. Chromium then opens every page that shows
them, types into the live search (results arrive through innerHTML) and provokes the visit
form's autosave conflict (the other person's values arrive as JSON). Run once with the CSP
enforced, as in production, and once with it bypassed, to prove that escaping alone holds.
"""

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from spastic import create_app
from spastic.extensions import db
from spastic.models import User
from tests.browser.conftest import DEMO_PASSWORD, context_options, login
from tests.conftest import PASSWORD, _test_config
from tests.test_hostile_text import login_client, store_everywhere, tagged_values

PAYLOADS = (
    "<img src=x onerror=window.__xss=1>",
    '"><svg onload=alert(2)>',
    "</textarea><script>__xss=3</script>",
    "'><img src=x onerror=alert(4)>",
    '<iframe srcdoc="<script>parent.__xss=5</script>">',
    '<a href="javascript:__xss=6">x</a>',
    "{{7*7}}<b onmouseover=__xss=7>",
)
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""
# What the CSP blocks when a payload reaches the page as markup: that may happen (escaping
# is the first defence, the CSP the second), but anything else it blocks is the app's own.
PAYLOAD_BLOCKS = {"script-src-attr", "script-src-elem", "frame-src", "child-src"}
SHOWN_AS_TEXT = {  # page -> a field whose value must be on the page, as text
    "patient list": "family_name",
    "patient": "diagnosis_detail",
    "dose form": "given_name",
    "trend": "mrn",
    "visit": "notes",
}
SHOWN_IN_FIELD = {  # page -> a form field that must hold the stored value
    "patient edit form": "referring_name",
    "visit form": "notes",
    "amend form": "side_effect_other_detail",
}


@pytest.fixture
def hostile(live_server, live_database, tmp_path):
    """Store the payloads through the forms, in the live server's database."""
    url = f"sqlite:///{live_database}"
    app = create_app(_test_config(url, OUTBOX_FOLDER=str(tmp_path)))
    values = tagged_values(*PAYLOADS)
    with app.app_context():
        physician = db.session.scalar(select(User.id).where(User.email == "physician@demo.test"))
    world = store_everywhere(app, values, ("admin@demo.test", DEMO_PASSWORD), physician)
    yield {"app": app, "values": values, **world}
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(params=["csp-enforced", "csp-bypassed"])
def watched(request, new_context, playwright):
    """A tablet page that records dialogs, page errors and CSP violations."""
    bypass = request.param == "csp-bypassed"
    context = new_context(**context_options(playwright, "ipad-portrait"), bypass_csp=bypass)
    page = context.new_page()
    seen = {"dialogs": [], "errors": []}

    def dismiss(dialog):
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.add_init_script(RECORD_CSP)
    return page, seen


def _nothing_ran(page: Page, seen: dict, where: str) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # a late onerror or onload
    marker = page.evaluate("window.__xss")
    violations = page.evaluate("window.__csp")
    assert marker is None, f"{where}: a payload set window.__xss = {marker}"
    assert seen["dialogs"] == [], f"{where}: dialogs {seen['dialogs']}"
    assert seen["errors"] == [], f"{where}: page errors {seen['errors']}"
    others = [v for v in violations if v["directive"] not in PAYLOAD_BLOCKS]
    assert others == [], f"{where}: CSP violations not caused by a payload: {others}"


def test_no_stored_payload_runs_on_any_page(watched, live_server, hostile):
    page, seen = watched
    values = hostile["values"]
    login(page, live_server, "hostile@home.test", PASSWORD)
    for name, path in hostile["pages"].items():
        if name == "users":
            continue
        page.goto(live_server + path)
        _nothing_ran(page, seen, name)
        if name in SHOWN_AS_TEXT:
            text = re.compile(re.escape(values[SHOWN_AS_TEXT[name]]), re.IGNORECASE)
            expect(page.locator("main")).to_contain_text(text)
        if name in SHOWN_IN_FIELD:
            field = SHOWN_IN_FIELD[name]
            expect(page.locator(f'[name="{field}"]')).to_have_value(values[field])

    page.goto(f"{live_server}/patients")
    page.get_by_label("Find by name or MRN").fill(values["mrn"][:6])
    expect(page.locator("#patient-results")).to_contain_text(values["mrn"])
    _nothing_ran(page, seen, "live search")


def test_autosave_conflict_shows_the_other_values_as_text(watched, live_server, hostile):
    """The conflict box is built from JSON in the page: the values must stay text there too."""
    page, seen = watched
    values = hostile["values"]
    login(page, live_server, "hostile@home.test", PASSWORD)
    form_url = live_server + hostile["pages"]["visit form"]
    page.goto(form_url)
    draft_id = form_url.rsplit("/", 1)[1]
    version = page.locator("input[name=version]").input_value()
    other = login_client(hostile["app"], "hostile@home.test")
    theirs = {"version": version, "notes": values["notes"], "rater": values["user_name"]}
    assert other.post(f"/drafts/{draft_id}/autosave", data=theirs).status_code == 200
    page.get_by_label("Notes").fill("Mine")
    conflict = page.locator("[data-conflict]")
    expect(conflict).to_be_visible(timeout=10_000)
    expect(conflict).to_contain_text(values["notes"][:30])
    _nothing_ran(page, seen, "autosave conflict")


def test_no_stored_payload_runs_for_the_admin(watched, live_server, hostile):
    page, seen = watched
    login(page, live_server, "admin@demo.test")
    page.goto(live_server + hostile["pages"]["users"])
    expect(page.locator("body")).to_contain_text(hostile["values"]["user_name"])
    _nothing_ran(page, seen, "users")
