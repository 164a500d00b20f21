"""Recording a visit by touch on tablets: autosave, reload, double tap, offline, sign, carry.

Each test registers its own patient (no visits, so no carried grades unless the test signs one)
and checks what the server stored in the live server's SQLite file, not only what the page says.
"""

import json
import re
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from spastic.clinical import scales
from tests.browser.conftest import VIEWPORTS, login, open_visit_form
from tests.browser.test_patients_browser import assert_fits_tablet

# A first visit of a new demo patient starts from the demo clinic's usual set: the twelve.
DEFAULT_MUSCLES = scales.STANDARD_MUSCLES

THERAPIST = "therapist@demo.test"
SAVED = re.compile(r"^Draft saved \d\d:\d\d \(not yet a visit\)$")
OFFLINE = "Offline — changes kept on this page, not yet on the server"
KEPT_OFFLINE = (
    "Offline — your visit is kept on this page, not yet on the server; "
    "tap Review and sign again when back online"
)
REVIEW_URL = re.compile(r"/visits/\d+/review$")


def legend(muscle: str, side: str) -> str:
    """The legend of a muscle-side's radio group, as the form prints it."""
    return f"{scales.MUSCLE_BY_CODE[muscle].label} - {scales.SIDE_LABELS[side]}"


def tap_choice(page: Page, group: str, option: str) -> None:
    page.get_by_role("group", name=group).get_by_role("radio", name=option, exact=True).tap()


def tap_grades(page: Page, grades: dict[tuple[str, str], str]) -> None:
    for (muscle, side), grade in grades.items():
        tap_choice(page, legend(muscle, side), grade)


def expect_chosen(page: Page, grades: dict[tuple[str, str], str]) -> None:
    """The page shows exactly these MAS grades selected, and no other."""
    for (muscle, side), grade in grades.items():
        group = page.get_by_role("group", name=legend(muscle, side))
        expect(group.get_by_role("radio", name=grade, exact=True)).to_be_checked()
    expect(page.locator(".field.mas input[type=radio]:checked")).to_have_count(len(grades))


def save_status(page: Page):
    return page.locator("[data-save-status]")


def start_visit(page: Page, base_url: str, patient_id: int) -> str:
    """Open the patient's visit form (the server-side draft); return the draft's URL."""
    open_visit_form(page, base_url, patient_id)
    expect(page).to_have_url(re.compile(r"/drafts/\d+$"))
    return page.url


def save_visit(page: Page) -> int:
    """Tap Review and sign; wait for the review page; return the visit id."""
    page.get_by_role("button", name="Review and sign").tap()
    expect(page).to_have_url(REVIEW_URL)
    return int(page.url.split("/")[-2])


def sign_visit(page: Page, password: str, meaning: str | None = None) -> None:
    if meaning:
        page.get_by_role("radio", name=meaning).tap()
    page.locator("#sign-password").fill(password)
    page.get_by_role("button", name="Sign visit").tap()


def grid(page: Page) -> dict[str, str]:
    """The visit page's MAS grid: muscle-side -> this visit's grade."""
    return dict(
        page.locator(".mas-table tbody tr").evaluate_all(
            "rows => rows.map(r => [r.cells[0].textContent.trim(),"
            " r.cells[1].firstChild.textContent.trim()])"
        )
    )


def facts(page: Page) -> dict[str, str]:
    """Every term and its description on the visit page (pain, spasms, side effects...)."""
    return dict(
        page.locator("dl.facts dt").evaluate_all(
            "terms => terms.map(t => [t.textContent.trim(),"
            " t.nextElementSibling.textContent.trim()])"
        )
    )


def query(database: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql, params).fetchall()


def visit_ids(database: Path, patient_id: int) -> list[int]:
    return [r[0] for r in query(database, "SELECT id FROM visit WHERE patient_id = ?", patient_id)]


def stored_grades(database: Path, visit_id: int) -> dict[tuple[str, str], str | None]:
    rows = query(database, "SELECT muscle, side, grade FROM mas_score WHERE visit_id = ?", visit_id)
    return {(muscle, side): grade for muscle, side, grade in rows}


def all_sides(muscles, grades: dict) -> dict[tuple[str, str], str | None]:
    """Every side of the selected muscles: its grade, or None (not assessed)."""
    return {(m, s): grades.get((m, s)) for m in muscles for s in scales.SIDES}


FULL_VISIT = {
    ("thumb_flexors", "left"): "1+",
    ("hip_adductors", "left"): "2",
    ("hip_adductors", "right"): "1",
    ("knee_extensors", "right"): "0",
    ("ankle_plantarflexors", "left"): "3",
    ("ankle_plantarflexors", "right"): "4",
}


@pytest.mark.parametrize("viewport", VIEWPORTS, indirect=True)
def test_full_visit_by_taps_only(
    page: Page, live_server, live_database, add_patient, console_errors
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    start_visit(page, live_server, patient_id)
    assert_fits_tablet(page)

    # Add a muscle to the clinic's usual twelve; its right side stays empty: not assessed.
    picker = page.locator(".muscle-picker summary")
    picker.tap()
    page.get_by_role("checkbox", name="Thumb flexors").tap()
    expect(picker).to_have_text(
        f"Muscles assessed: {len(DEFAULT_MUSCLES) + 1} of {len(scales.MUSCLES)} — change"
    )
    tap_grades(page, FULL_VISIT)
    tap_choice(page, "Pain now", "3")
    tap_choice(page, "Worst pain in the last 24 hours", "7")
    tap_choice(page, "Penn spasm frequency", "2 · Full spasms less than once an hour")
    tap_choice(page, "Spasm severity", "2 · Moderate")
    tap_choice(page, "Drowsiness", "Moderate")
    tap_choice(page, "Taking baclofen", "Missed doses")
    page.get_by_label("Notes").fill("Walks 10 m with a frame.")
    assert_fits_tablet(page)
    visit_id = save_visit(page)
    page.goto(f"{live_server}/visits/{visit_id}")

    muscles = scales.muscle_set(("thumb_flexors", *DEFAULT_MUSCLES))
    expected = all_sides(muscles, FULL_VISIT)
    assert grid(page) == {legend(*k): grade or "not assessed" for k, grade in expected.items()}
    shown = facts(page)
    assert shown["Pain now"].startswith("3 / 10")
    assert shown["Worst, 24 h"].startswith("7 / 10")
    assert shown["Penn frequency"] == "2 · Full spasms less than once an hour"
    assert shown["Severity"] == "2 · Moderate"
    assert shown["Drowsiness"] == "moderate"
    assert shown["Baclofen as taken"] == "Missed doses"
    assert [t for t in shown if t in scales.SIDE_EFFECTS.values()] == ["Drowsiness"]
    expect(page.locator(".notes")).to_have_text("Walks 10 m with a frame.")
    assert_fits_tablet(page)

    assert visit_ids(live_database, patient_id) == [visit_id]
    assert stored_grades(live_database, visit_id) == expected
    assert stored_grades(live_database, visit_id)[("thumb_flexors", "right")] is None
    assert query(
        live_database,
        "SELECT pain_now, pain_worst, penn_frequency, penn_severity, adherence, notes, status"
        " FROM visit WHERE id = ?",
        visit_id,
    ) == [(3, 7, 2, 2, "missed_doses", "Walks 10 m with a frame.", "draft")]
    assert query(
        live_database, "SELECT code, severity FROM side_effect WHERE visit_id = ?", visit_id
    ) == [("drowsiness", "moderate")]
    assert console_errors == []


@pytest.mark.parametrize("viewport", ["ipad-landscape"], indirect=True)
def test_reload_and_a_new_tab_bring_the_draft_back(page: Page, context, live_server, add_patient):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    grades = {("hip_flexors", "left"): "1+", ("knee_flexors", "right"): "3"}
    tap_grades(page, grades)
    tap_choice(page, "Pain now", "4")
    expect(save_status(page)).to_have_text(SAVED)

    page.reload()
    expect_chosen(page, grades)
    expect(
        page.get_by_role("group", name="Pain now").get_by_role("radio", name="4")
    ).to_be_checked()

    # A closed tab: the patient's visit in progress opens again from the server.
    page.close()
    tab = context.new_page()
    open_visit_form(tab, live_server, patient_id)
    expect(tab).to_have_url(draft_url)
    expect_chosen(tab, grades)


@pytest.mark.parametrize("viewport", ["tablet-768"], indirect=True)
def test_double_tap_and_resend_give_one_visit(page: Page, live_server, live_database, add_patient):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    tap_grades(page, {("hip_flexors", "left"): "2"})
    expect(save_status(page)).to_have_text(SAVED)
    box = page.get_by_role("button", name="Review and sign").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    posted = []
    page.on("request", lambda r: posted.append(r) if r.method == "POST" else None)
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    expect(page).to_have_url(REVIEW_URL)
    visit_url = page.url
    sent = [r for r in posted if r.url == draft_url]
    assert len(sent) == 1, "the second tap posted the form again"

    # The same form sent again (a retry on a flaky network, the browser's resend) gets the
    # same visit; so does going back to the form.
    resend = page.request.post(
        draft_url,
        data=sent[0].post_data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resend.ok
    assert resend.url == visit_url
    page.go_back()
    expect(page).to_have_url(visit_url)
    assert len(visit_ids(live_database, patient_id)) == 1


def test_offline_mid_visit_loses_and_duplicates_nothing(
    page: Page, context, live_server, live_database, add_patient
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    online = {("hip_flexors", "left"): "1", ("hip_flexors", "right"): "1+"}
    offline = {("knee_flexors", "left"): "2", ("knee_flexors", "right"): "3"}
    tap_grades(page, online)
    expect(save_status(page)).to_have_text(SAVED)

    context.set_offline(True)
    tap_grades(page, offline)
    expect(save_status(page)).to_have_text(OFFLINE)
    page.get_by_role("button", name="Review and sign").tap()
    expect(save_status(page)).to_have_text(KEPT_OFFLINE)
    expect(page).to_have_url(draft_url)
    expect_chosen(page, {**online, **offline})
    assert visit_ids(live_database, patient_id) == []

    context.set_offline(False)
    expect(save_status(page)).to_have_text(SAVED)
    draft_id = int(draft_url.rsplit("/", 1)[1])
    [(payload,)] = query(live_database, "SELECT payload FROM draft WHERE id = ?", draft_id)
    assert json.loads(payload)["mas-knee_flexors-right"] == ["3"]
    visit_id = save_visit(page)

    assert visit_ids(live_database, patient_id) == [visit_id]
    assert stored_grades(live_database, visit_id) == all_sides(DEFAULT_MUSCLES, online | offline)


def test_review_and_sign_tapped_offline_keeps_its_instruction(
    page: Page, context, live_server, live_database, add_patient
):
    """Review and sign tapped offline right after a grade (its autosave still waiting): when
    that autosave then finds no connection, and when the browser says offline again, the
    status still tells the therapist to tap Review and sign again once back online."""
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    context.set_offline(True)
    expect(save_status(page)).to_have_text(OFFLINE)
    grades = {("hip_flexors", "left"): "2"}
    tap_grades(page, grades)
    page.get_by_role("button", name="Review and sign").tap()  # within the 800 ms autosave delay
    expect(save_status(page)).to_have_text(KEPT_OFFLINE)
    page.wait_for_timeout(1500)  # past visit.js's autosave delay: that save has run, offline
    expect(save_status(page)).to_have_text(KEPT_OFFLINE)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    expect(save_status(page)).to_have_text(KEPT_OFFLINE)
    expect(page).to_have_url(draft_url)
    assert visit_ids(live_database, patient_id) == []

    context.set_offline(False)  # a save that gets through ends the instruction
    expect(save_status(page)).to_have_text(SAVED)
    visit_id = save_visit(page)
    assert stored_grades(live_database, visit_id) == all_sides(DEFAULT_MUSCLES, grades)


def test_a_flaky_connection_keeps_the_input_on_the_page(
    page: Page, live_server, live_database, add_patient
):
    """The browser thinks it is online, but requests fail: Save visit must not leave the page."""
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    posted = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    drafts = re.compile(r"/drafts/\d+")
    page.route(drafts, lambda route: route.abort("connectionfailed"))
    grades = {("hip_adductors", "left"): "1+", ("hip_adductors", "right"): "2"}
    tap_grades(page, grades)
    page.get_by_role("button", name="Review and sign").tap()

    expect(save_status(page)).to_have_text(KEPT_OFFLINE)
    expect(page).to_have_url(draft_url)
    expect_chosen(page, grades)
    assert draft_url not in posted, "the form was posted over a broken connection"
    assert visit_ids(live_database, patient_id) == []

    page.unroute(drafts)
    visit_id = save_visit(page)
    assert visit_ids(live_database, patient_id) == [visit_id]
    assert stored_grades(live_database, visit_id) == all_sides(DEFAULT_MUSCLES, grades)


def test_a_save_from_another_tab_meanwhile_is_shown_not_overwritten(
    page: Page, context, live_server, live_database, add_patient
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    draft_url = start_visit(page, live_server, patient_id)
    other = context.new_page()
    other.goto(draft_url)
    tap_grades(other, {("hip_flexors", "left"): "3"})
    expect(save_status(other)).to_have_text(SAVED)

    tap_grades(page, {("hip_flexors", "left"): "1"})
    conflict = page.locator("[data-conflict]")
    # The same person in another tab: asked, in their own words, never "Tess Mills saved".
    expect(conflict).to_contain_text("You saved other answers in another tab or window at")
    expect(conflict).not_to_contain_text("Tess Mills")
    expect(conflict).to_contain_text("Hip flexors - Left: saved 3, yours 1")
    expect(save_status(page)).to_have_text(
        "Not saved: this visit has other answers from another tab"
    )
    draft_id = int(draft_url.rsplit("/", 1)[1])
    stored = "SELECT payload FROM draft WHERE id = ?"
    assert json.loads(query(live_database, stored, draft_id)[0][0])["mas-hip_flexors-left"] == ["3"]

    page.get_by_role("button", name="Keep this tab's version").tap()
    expect(save_status(page)).to_have_text(SAVED)
    expect(conflict).to_be_hidden()
    assert json.loads(query(live_database, stored, draft_id)[0][0])["mas-hip_flexors-left"] == ["1"]


def test_signing_asks_for_the_password(page: Page, live_server, live_database, add_patient):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    start_visit(page, live_server, patient_id)
    tap_grades(page, {("ankle_plantarflexors", "left"): "1+"})
    visit_id = save_visit(page)
    status = "SELECT status, signed_by_id, signature_meaning FROM visit WHERE id = ?"

    sign_visit(page, "not-my-password")
    expect(page.locator("#sign-password-error")).to_have_text(
        "That is not your password (4 more wrong tries lock the account for 15 minutes). "
        "The visit is not signed."
    )
    expect(page.get_by_text("Not signed", exact=True)).to_be_visible()
    assert query(live_database, status, visit_id) == [("draft", None, None)]

    meaning = "I reviewed and approve this record"
    sign_visit(page, "spastic-demo", meaning)
    expect(page.locator(".signature")).to_contain_text("Signed by Tess Mills")
    expect(page.locator(".signature")).to_contain_text(meaning)
    expect(page.get_by_role("button", name="Sign visit")).to_have_count(0)
    [(signed, signer, stored_meaning)] = query(live_database, status, visit_id)
    assert (signed, stored_meaning) == ("signed", meaning)
    assert query(live_database, "SELECT email FROM user_account WHERE id = ?", signer) == [
        (THERAPIST,)
    ]


def test_carried_grades_are_kept_cleared_or_changed(
    page: Page, live_server, live_database, add_patient
):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    first = {
        ("hip_flexors", "left"): "2",
        ("hip_flexors", "right"): "1+",
        ("hip_adductors", "left"): "3",
        ("hip_adductors", "right"): "1",
    }
    start_visit(page, live_server, patient_id)
    tap_grades(page, first)
    save_visit(page)
    sign_visit(page, "spastic-demo")
    expect(page.locator(".signature")).to_contain_text("Signed by")

    start_visit(page, live_server, patient_id)
    today = date.today()
    expect_chosen(page, first)
    rows = {key: page.locator(f"#mas-{key[0]}-{key[1]}-field") for key in first}
    for key, grade in first.items():
        note = rows[key].locator("[data-carry-note]")
        expect(note).to_have_text(f"from {today.day} {today:%b %Y}: {grade}")

    rows["hip_flexors", "left"].get_by_role("button", name="Keep").tap()
    rows["hip_flexors", "right"].get_by_role("button", name="Clear").tap()
    tap_choice(page, legend("hip_adductors", "left"), "2")
    expect(rows["hip_flexors", "left"]).to_have_class(re.compile(r"\bkept\b"))
    expect(rows["hip_flexors", "right"]).to_have_class(re.compile(r"\bchanged-today\b"))
    expect(rows["hip_adductors", "left"]).to_have_class(re.compile(r"\bchanged-today\b"))
    expect(rows["hip_adductors", "right"]).to_have_class(re.compile(r"\bpending\b"))

    # The row left untouched must be kept or cleared: the form comes back with the input kept.
    page.get_by_role("button", name="Review and sign").tap()
    expect(rows["hip_adductors", "right"].locator(".error")).to_have_text(
        f"Keep or clear the grade carried from {today.day} {today:%b}."
    )
    expect_chosen(
        page,
        {k: v for k, v in first.items() if k != ("hip_flexors", "right")}
        | {("hip_adductors", "left"): "2"},
    )
    # Tapping the carried grade, still selected, keeps it too.
    tap_choice(page, legend("hip_adductors", "right"), "1")
    expect(rows["hip_adductors", "right"]).to_have_class(re.compile(r"\bkept\b"))
    visit_id = save_visit(page)

    now = {
        ("hip_flexors", "left"): "2",
        ("hip_adductors", "left"): "2",
        ("hip_adductors", "right"): "1",
    }
    assert stored_grades(live_database, visit_id) == all_sides(DEFAULT_MUSCLES, now)
    assert len(visit_ids(live_database, patient_id)) == 2
    shown = grid(page)
    assert shown[legend("hip_flexors", "right")] == "not assessed"
    assert shown[legend("hip_adductors", "left")] == "2"
