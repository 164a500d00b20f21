"""Every answer of the visit form can be emptied in the browser: no dead end by touch.

Penn severity chosen, then the frequency corrected to 0: Clear empties the severity and the
visit saves with the true frequency. Pain, a side effect, adherence and a Tardieu quality are
cleared the same way; the server stores them empty.
"""

import re
import sqlite3
from contextlib import closing

from playwright.sync_api import Page, expect

from tests.browser.conftest import login, open_visit_form

THERAPIST = "therapist@demo.test"


def group(page: Page, name: str):
    return page.get_by_role("group", name=name, exact=True)


def clear(page: Page, name: str) -> None:
    page.get_by_role("button", name=f"Clear {name}", exact=True).tap()


def test_every_answer_can_be_cleared_by_touch(page: Page, live_server, live_database, add_patient):
    patient_id = add_patient()
    login(page, live_server, THERAPIST)
    open_visit_form(page, live_server, patient_id)

    group(page, "Hip flexors - Left").get_by_role("radio", name="2", exact=True).tap()
    group(page, "Hip flexors - Right").get_by_role("radio", name="3", exact=True).tap()
    group(page, "Pain now").get_by_role("radio", name="5", exact=True).tap()
    group(page, "Worst pain in the last 24 hours").get_by_role("radio", name="7").tap()
    group(page, "Penn spasm frequency").get_by_role("radio", name=re.compile("^2 ")).tap()
    group(page, "Spasm severity").get_by_role("radio", name="2 · Moderate").tap()
    group(page, "Drowsiness").get_by_role("radio", name="Mild").tap()
    group(page, "Taking baclofen").get_by_role("radio", name="Missed doses").tap()
    page.locator("[data-muscle=hip_flexors] .tardieu summary").tap()
    quality = "Quality of reaction (X)"
    tardieu = page.locator("#tardieu-hip_flexors-left-quality-field")
    tardieu.get_by_role("radio", name="2", exact=True).tap()

    # The frequency was wrong: no spasms. The severity is then cleared, not falsified.
    group(page, "Penn spasm frequency").get_by_role("radio", name=re.compile("^0 ")).tap()
    clear(page, "Spasm severity")
    expect(group(page, "Spasm severity").locator("input:checked")).to_have_count(0)
    clear(page, "Hip flexors - Right")
    clear(page, "Worst pain in the last 24 hours")
    clear(page, "Drowsiness")
    clear(page, "Taking baclofen")
    tardieu.get_by_role("button", name=f"Clear {quality}").tap()
    expect(tardieu.locator("input:checked")).to_have_count(0)

    page.get_by_role("button", name="Review and sign").tap()
    expect(page).to_have_url(re.compile(r"/visits/\d+/review$"))
    visit_id = int(page.url.split("/")[-2])
    with closing(sqlite3.connect(live_database)) as db:
        row = db.execute(
            "SELECT pain_now, pain_worst, penn_frequency, penn_severity, adherence"
            " FROM visit WHERE id = ?",
            (visit_id,),
        ).fetchone()
        grades = dict(
            ((m, s), g)
            for m, s, g in db.execute(
                "SELECT muscle, side, grade FROM mas_score WHERE visit_id = ?"
                " AND muscle = 'hip_flexors'",
                (visit_id,),
            )
        )
        effects = db.execute(
            "SELECT count(*) FROM side_effect WHERE visit_id = ?", (visit_id,)
        ).fetchone()
        tardieu_rows = db.execute(
            "SELECT count(*) FROM tardieu_score WHERE visit_id = ?", (visit_id,)
        ).fetchone()
    assert row == (5, None, 0, None, None)
    assert grades == {("hip_flexors", "left"): "2", ("hip_flexors", "right"): None}
    assert effects == (0,)
    assert tardieu_rows == (0,)
