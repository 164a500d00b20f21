"""Issue 13's tap budgets, counted in Chromium on an iPad Pro 11, from the patient page to signed.

- First visit of a new patient: 12 muscles x 2 sides (the clinic's usual set, so no taps on
  the picker), pain now and worst, Penn frequency and severity, two side effects (the rest
  none), review and sign: at most 40 taps (before this issue: 52).
- Follow-up of the same patient: 24 grades carried, keep all, change 3, no side effects,
  review and sign: at most 15 taps (before: 25).

Every tap goes through `TapCounter`; typing the password is keyboard, not a tap (tapping its
field is). The database is read back: what the taps recorded is what was signed.
"""

import re
import sqlite3
from contextlib import closing

import pytest
from playwright.sync_api import Page, expect

from spastic.clinical import scales
from tests.browser.conftest import login
from tests.browser.test_visit_browser import THERAPIST, legend
from tests.browser.test_visit_form_size import TapCounter

FIRST_VISIT_BUDGET, FOLLOW_UP_BUDGET = 40, 15
GRADES = ("0", "1", "1+", "2", "3", "4")
REPORTED = {"drowsiness": "Mild", "fatigue": "Moderate"}
CHANGED = (("elbow_flexors", "left"), ("wrist_flexors", "right"), ("hip_adductors", "left"))


def _open_form(page: Page, taps: TapCounter, base: str, patient_id: int) -> None:
    page.goto(f"{base}/patients/{patient_id}")
    taps.tap(page.get_by_role("button", name="New visit"), "new visit")
    expect(page).to_have_url(re.compile(r"/drafts/\d+$"))


def _sign(page: Page, taps: TapCounter) -> int:
    taps.tap(page.get_by_role("button", name="Review and sign"), "review and sign")
    expect(page).to_have_url(re.compile(r"/visits/\d+/review$"))
    taps.tap(page.locator("#sign-password"), "password field")
    page.keyboard.type("spastic-demo")
    taps.tap(page.get_by_role("button", name="Sign visit"), "sign")
    # Signing renders and stores the summary PDF before it answers: seconds on a loaded machine.
    expect(page.locator("#visit-status")).to_have_text(
        re.compile(r"^Signed \d\d:\d\d by "), timeout=30_000
    )
    return int(re.search(r"/visits/(\d+)", page.url).group(1))


def _stored(database, visit_id: int) -> dict:
    with closing(sqlite3.connect(database)) as connection:
        visit = connection.execute(
            "SELECT status, pain_now, pain_worst, penn_frequency, penn_severity FROM visit "
            "WHERE id = ?",
            (visit_id,),
        ).fetchone()
        grades = {
            (m, s): (g, c)
            for m, s, g, c in connection.execute(
                "SELECT muscle, side, grade, carried_from FROM mas_score WHERE visit_id = ?",
                (visit_id,),
            )
        }
        effects = dict(
            connection.execute(
                "SELECT code, severity FROM side_effect WHERE visit_id = ?", (visit_id,)
            )
        )
    return {"visit": visit, "grades": grades, "effects": effects}


@pytest.mark.parametrize("viewport", ["ipad-portrait"], indirect=True)
def test_first_and_follow_up_visits_within_their_tap_budgets(
    page: Page, live_server, live_database, add_patient, viewport
):
    patient_id = add_patient("Budget", "Bea")
    login(page, live_server, THERAPIST)

    first = TapCounter()
    _open_form(page, first, live_server, patient_id)
    expect(page.locator(".muscle-row:not([hidden])")).to_have_count(len(scales.STANDARD_MUSCLES))
    expected = {}
    for number, muscle in enumerate(scales.STANDARD_MUSCLES):
        for side in scales.SIDES:
            grade = GRADES[(number + (side == "right")) % len(GRADES)]
            group = page.get_by_role("group", name=legend(muscle, side))
            first.tap(group.get_by_role("radio", name=grade, exact=True), f"{muscle} {side}")
            expected[(muscle, side)] = grade
    for name, value in (("Pain now", "3"), ("Worst pain in the last 24 hours", "6")):
        group = page.get_by_role("group", name=name)
        first.tap(group.get_by_role("radio", name=value, exact=True), name)
    first.tap(
        page.get_by_role("group", name="Penn spasm frequency").get_by_role(
            "radio", name=re.compile(r"^2 ")
        ),
        "penn frequency",
    )
    first.tap(
        page.get_by_role("group", name="Spasm severity").get_by_role(
            "radio", name=re.compile(r"^1 ")
        ),
        "penn severity",
    )
    first.tap(page.get_by_role("button", name="No side effects"), "no side effects")
    for code, severity in REPORTED.items():
        group = page.get_by_role("group", name=scales.SIDE_EFFECTS[code])
        first.tap(group.get_by_role("radio", name=severity, exact=True), code)
    first_id = _sign(page, first)
    print(f"\nfirst visit, 24 grades: {first.count} taps: {first.log}")

    stored = _stored(live_database, first_id)
    assert stored["visit"] == ("signed", 3, 6, 2, 1)
    assert stored["grades"] == {key: (grade, None) for key, grade in expected.items()}
    assert stored["effects"] == {
        **dict.fromkeys(scales.SIDE_EFFECTS, "none"),
        **{code: severity.lower() for code, severity in REPORTED.items()},
    }
    assert first.count <= FIRST_VISIT_BUDGET

    follow_up = TapCounter()
    _open_form(page, follow_up, live_server, patient_id)
    expect(page.locator(".field.mas.pending")).to_have_count(24)
    follow_up.tap(page.get_by_role("button", name="Keep all carried grades"), "keep all")
    expect(page.get_by_text("Kept 24 carried grades")).to_be_visible()
    changed = {key: GRADES[(GRADES.index(expected[key]) + 1) % len(GRADES)] for key in CHANGED}
    for (muscle, side), grade in changed.items():
        group = page.get_by_role("group", name=legend(muscle, side))
        follow_up.tap(group.get_by_role("radio", name=grade, exact=True), f"{muscle} {side}")
    follow_up.tap(page.get_by_role("button", name="No side effects"), "no side effects")
    second_id = _sign(page, follow_up)
    print(f"follow-up, 24 carried, 3 changed: {follow_up.count} taps: {follow_up.log}")

    again = _stored(live_database, second_id)
    assert again["visit"][0] == "signed"
    for key, grade in expected.items():
        if key in changed:
            assert again["grades"][key] == (changed[key], None)  # examined today
        else:
            assert again["grades"][key][0] == grade and again["grades"][key][1] is not None
    assert again["effects"] == dict.fromkeys(scales.SIDE_EFFECTS, "none")
    assert follow_up.count <= FOLLOW_UP_BUDGET
