"""A page on another origin auto-posts a form to the app while the therapist is logged in.

The attacker's server runs on 127.0.0.1 too, on another port: another origin, but the same
site, so Chromium sends the SameSite=Lax session cookie along with the top-level POST - the
case SameSite does not cover. The therapist must not land on their own form pre-filled with
the attacker's values, and nothing may be written.
"""

import sqlite3
import threading
from contextlib import closing
from datetime import date
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login


@pytest.fixture
def attacker():
    """Serve one HTML page whose form posts itself to a given URL on load; yield a setter."""
    page = {"html": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page["html"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(action: str, fields: dict) -> str:
        inputs = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in fields.items()
        )
        page["html"] = (
            "<!doctype html><title>Win a prize</title>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="post" action="{escape(action)}">{inputs}</form></body>'
        ).encode()
        return f"http://127.0.0.1:{server.server_port}/prize"

    yield serve
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def _rows(path, sql: str, *params) -> list:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql, params).fetchall()


FORGED_DOSE = {
    "effective_date": date.today().isoformat(),
    "route": "oral",
    "daily_dose": "200",
    "unit": "mg/day",
    "schedule": "50 mg four times a day",
    "reason": "Titration",
    "submission_key": "forged",
}


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["no token", "garbage token"])
def test_cross_origin_dose_post_lands_on_no_prefilled_form(
    page: Page, live_server, live_database, add_patient, attacker, token
):
    patient_id = add_patient()
    login(page, live_server, "therapist@demo.test")
    fields = FORGED_DOSE if token is None else {**FORGED_DOSE, "csrf_token": token}
    page.goto(attacker(f"{live_server}/patients/{patient_id}/doses/new", fields))
    expect(page.get_by_role("heading", name="Not saved")).to_be_visible()
    assert page.url.startswith(f"{live_server}/patients/{patient_id}/doses/new")
    expect(page.get_by_text("could not be checked as coming from this app")).to_be_visible()
    assert page.locator("input[name=daily_dose]").count() == 0
    assert "200" not in page.content() and "four times" not in page.content()
    assert _rows(live_database, "SELECT id FROM dose_change WHERE patient_id = ?", patient_id) == []


def test_cross_origin_patient_edit_changes_nothing(
    page: Page, live_server, live_database, add_patient, attacker
):
    patient_id = add_patient(family_name="Stone")
    login(page, live_server, "therapist@demo.test")
    forged = {
        "mrn": "BT-0001",
        "family_name": "Stone",
        "given_name": "Tess",
        "birth_date": "1980-05-17",
        "sex": "female",
        "diagnosis": "ms",
        "referring_name": "Dr Evil",
        "referring_email": "evil@attacker.example",
        "version": "1",
    }
    page.goto(attacker(f"{live_server}/patients/{patient_id}/edit", forged))
    expect(page.get_by_role("heading", name="Not saved")).to_be_visible()
    assert "evil@attacker.example" not in page.content()
    assert page.locator("input[name=referring_email]").count() == 0
    stored = _rows(live_database, "SELECT referring_email FROM patient WHERE id = ?", patient_id)
    assert stored == [("",)]
    # The therapist is still logged in: the app's own page works as before.
    page.goto(f"{live_server}/patients/{patient_id}/edit")
    expect(page.locator("input[name=referring_email]")).to_have_value("")
