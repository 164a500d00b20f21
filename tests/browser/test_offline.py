"""Nothing typed is lost: an immediate reload, an offline reload, and no patient data stored.

The service worker keeps the app shell (styles, scripts, fonts, the offline page) and nothing
else; these tests read what the browser really stored after a visit was typed.
"""

import json
import re

from playwright.sync_api import Page, expect

from tests.browser.test_visit_browser import (
    SAVED,
    THERAPIST,
    login,
    query,
    save_status,
    start_visit,
    tap_grades,
)

NOTES = "Walked 20 m with frame; reports less clonus at night."


def _controlled(page: Page) -> None:
    """Wait until the service worker controls the page (it claims clients on activation)."""
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")


def test_a_reload_right_after_typing_shows_every_word(
    page: Page, live_server, live_database, add_patient
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    tap_grades(page, {("hip_flexors", "left"): "2"})
    expect(save_status(page)).to_have_text(SAVED)

    notes = page.get_by_label("Notes")
    notes.fill(NOTES)  # no time for the autosave (800 ms): the reload follows at once
    page.reload()
    expect(page).to_have_url(draft_url)
    expect(page.get_by_label("Notes")).to_have_value(NOTES)
    draft_id = int(draft_url.rsplit("/", 1)[1])
    [(payload,)] = query(live_database, "SELECT payload FROM draft WHERE id = ?", draft_id)
    assert json.loads(payload)["notes"] == [NOTES]

    # The reloaded page is not its own conflict: it saves on, with no conflict panel.
    page.get_by_label("Notes").fill(NOTES + " Stairs with rail.")
    expect(save_status(page)).to_have_text(SAVED)
    expect(page.locator("[data-conflict]")).to_be_hidden()
    [(payload,)] = query(live_database, "SELECT payload FROM draft WHERE id = ?", draft_id)
    assert json.loads(payload)["notes"] == [NOTES + " Stairs with rail."]


def test_an_offline_reload_shows_our_page_with_the_last_save_time(
    page: Page, context, live_server, add_patient
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    _controlled(page)
    tap_grades(page, {("knee_flexors", "right"): "1+"})
    expect(save_status(page)).to_have_text(SAVED)
    saved_at = re.search(r"\d\d:\d\d", save_status(page).text_content()).group(0)

    context.set_offline(True)
    page.reload()
    expect(page).to_have_url(draft_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("No connection to the server")
    expect(page.locator("[data-draft-saved]")).to_have_text(
        re.compile(rf"last saved on the server at {saved_at}\.")
    )
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    # Styled from the shell cache, not a bare page: the stylesheet's font is there.
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Noto Sans"')

    context.set_offline(False)
    page.get_by_role("button", name="Try again").tap()
    expect(page.get_by_role("radio", name="1+").first).to_be_attached()
    expect(save_status(page)).to_have_text(SAVED)


def test_no_patient_data_is_left_in_the_browser(page: Page, live_server, add_patient):
    patient_id = add_patient(family_name="Quennell", given_name="Ottilie")
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    _controlled(page)
    tap_grades(page, {("hip_flexors", "right"): "3"})
    page.get_by_label("Notes").fill(NOTES)
    expect(save_status(page)).to_have_text(SAVED)
    page.goto(f"{live_server}/patients/{patient_id}/trend")
    page.goto(f"{live_server}/patients/{patient_id}")

    stored = page.evaluate(
        """async () => {
          const cached = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
              const response = await cache.match(request);
              cached.push({url: request.url, body: await response.text()});
            }
          }
          const local = Object.keys(localStorage).map(k => k + "=" + localStorage.getItem(k));
          const session = Object.keys(sessionStorage).map(k => k + "=" + sessionStorage.getItem(k));
          const databases = indexedDB.databases ? await indexedDB.databases() : [];
          return {cached, local, session, databases};
        }"""
    )
    urls = [entry["url"] for entry in stored["cached"]]
    assert f"{live_server}/offline" in urls  # the shell is there: the test can fail
    assert f"{live_server}/static/css/app.css" in urls
    assert all("/static/" in url or url.endswith("/offline") for url in urls), urls
    everything = json.dumps(stored)
    path = draft_url.removeprefix(live_server)
    for secret in ("BT-0001", "Quennell", "Ottilie", NOTES, path, f"/patients/{patient_id}"):
        assert secret not in everything, secret
    assert stored["local"] == [] and stored["session"] == [] and stored["databases"] == []


def test_a_date_field_reads_like_every_date_of_the_app(page: Page, live_server, add_patient):
    """The browser's date picker follows the device's locale; beside it: 1 Dec 2026."""
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    page.goto(f"{live_server}/patients/{patient_id}/doses/new")
    field = page.get_by_label("Effective from")
    field.fill("2026-12-01")
    expect(page.locator("[data-date-read]")).to_have_text("1 Dec 2026")
    field.fill("2026-02-09")
    expect(page.locator("[data-date-read]")).to_have_text("9 Feb 2026")
