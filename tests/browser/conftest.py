"""Browser fixtures: Debian's Chromium, a live server with the demo data, tablet viewports, axe.

The demo data is seeded once per session into a template SQLite file; each test gets its own
copy (through SQLite's backup API) behind its own server, so tests can write without meeting.
Radio choices are segmented buttons whose invisible native radio covers the segment: tap them
by role or label (get_by_role("radio", name="1+")), not by their text, which lies underneath.
"""

import itertools
import re
import shutil
import sqlite3
import threading
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update
from werkzeug.serving import make_server

from spastic import create_app
from spastic.demo import seed as demo
from spastic.extensions import db
from spastic.models import Clinic, Patient, User
from tests.conftest import CHEAP_HASHER, _test_config

HERE = Path(__file__).parent
AXE = HERE.parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
DEMO_PASSWORD = demo.DEMO_PASSWORD
VIEWPORTS = ("ipad-portrait", "ipad-landscape", "tablet-768")
# How long an expectation waits for the page to get there (Playwright's default: 5 s). Two
# test workers share two cores with their servers and browsers, and signing renders a PDF:
# a ceiling for waiting, not a measure of speed (that is bench/'s job).
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


def _browser_config(url: str) -> dict:
    # Real forms in a real browser: CSRF on, as in production.
    return _test_config(url, WTF_CSRF_ENABLED=True)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> Path:
    """Return a SQLite file holding the demo clinics, accounts and patients.

    The demo accounts' password hashes are then made again at the fixture users' argon2id
    cost (tests/conftest.py): verifying costs what the stored hash says, and at the production
    cost every login and every signature in a browser test spent about 0.1 s on both cores.
    The password and the code paths are the same; tests/test_auth.py checks the production
    parameters.
    """
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    app = create_app(_browser_config(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        demo.seed()
        db.session.execute(update(User).values(password_hash=CHEAP_HASHER.hash(DEMO_PASSWORD)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def demo_patient_ids(demo_database) -> dict[str, int]:
    """Map each demo patient's MRN to its id."""
    with closing(sqlite3.connect(demo_database)) as connection:
        return dict(connection.execute("SELECT mrn, id FROM patient"))


@pytest.fixture
def live_server(demo_database, tmp_path):
    """Serve a fresh copy of the demo database on a free port; yield the base URL."""
    path = tmp_path / "spastic.db"
    with (
        closing(sqlite3.connect(demo_database)) as source,
        closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)
    app = create_app({**_browser_config(f"sqlite:///{path}"), "OUTBOX_FOLDER": str(tmp_path)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def viewport(request) -> str:
    """Name of the tablet viewport; parametrize indirectly to choose, iPad portrait otherwise."""
    return getattr(request, "param", "ipad-portrait")


def context_options(playwright, name: str) -> dict:
    ipad = {
        k: v for k, v in playwright.devices["iPad Pro 11"].items() if k != "default_browser_type"
    }
    return {
        "ipad-portrait": ipad,
        "ipad-landscape": {**ipad, "viewport": {"width": 1194, "height": 834}},
        "tablet-768": {
            "viewport": {"width": 768, "height": 1024},
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
        },
    }[name]


@pytest.fixture
def context(new_context, playwright, viewport):
    """A touch tablet browser context in the chosen viewport."""
    return new_context(**context_options(playwright, viewport))


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Collect console errors and uncaught exceptions of the page."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def login(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form by touch and wait for the signed-in page."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").tap()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


VISIT_BUTTON = re.compile(r"^(New visit|Continue visit in progress)$")


def open_visit_form(page: Page, base_url: str, patient_id: int) -> None:
    """Tap the patient page's "New visit" (or "Continue") button: a POST, then the draft."""
    page.goto(f"{base_url}/patients/{patient_id}")
    page.get_by_role("button", name=VISIT_BUTTON).tap()
    expect(page).to_have_url(re.compile(r"/drafts/\d+$"))
    # The URL changes when the form's response starts; its styles and scripts come after.
    # A test that measures the page (widths, heights, targets) needs them all.
    page.wait_for_load_state("load")


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core in the page with the WCAG 2.0-2.2 A/AA rules; return the violations.

    The page's CSP forbids inline scripts, so the context must be made with bypass_csp=True.
    """
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)})))",
        AXE_TAGS,
    )


@pytest.fixture
def live_database(live_server, tmp_path) -> Path:
    """Return the SQLite file behind `live_server` (its copy of the demo data), to check writes."""
    return tmp_path / "spastic.db"


@pytest.fixture
def add_patient(live_database):
    """Return a function that registers a Demo Rehab patient without visits; it returns the id.

    Written straight into the live server's database, so a test does not depend on which demo
    patients have signed visits (and so carried grades) at the time.
    """
    app = create_app(_browser_config(f"sqlite:///{live_database}"))
    numbers = itertools.count(1)

    def add(family_name: str = "Tablet", given_name: str = "Tess") -> int:
        with app.app_context():
            clinic = db.session.scalar(select(Clinic).where(Clinic.name == "Demo Rehab"))
            patient = Patient(
                clinic_id=clinic.id,
                mrn=f"BT-{next(numbers):04d}",
                family_name=family_name,
                given_name=given_name,
                birth_date=date(1980, 5, 17),
                sex="female",
                diagnosis="ms",
            )
            db.session.add(patient)
            db.session.commit()
            return patient.id

    yield add
    with app.app_context():
        db.engine.dispose()
