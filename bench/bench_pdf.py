"""The PDF summary: warm, cached and cold through the app, against WeasyPrint alone on the
same HTML and headless Chromium printing the same HTML; the stored copy and the signing request
against an empty request (`GET /healthz`), signing with the render in the request (as before)
and queued off it (as now)."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, make_app, summary, timed, visit_form

SIGN = {"meaning": "I performed and recorded this assessment", "password": "spastic-demo"}

COLD_SCRIPT = """
import sys, time, json
start = time.perf_counter()
sys.path.insert(0, {root!r})
from spastic import create_app
app = create_app({config!r})
client = app.test_client()
client.post("/login", data={{"email": "therapist@demo.test", "password": "spastic-demo"}})
t = time.perf_counter()
response = client.get("/visits/{visit_id}/summary.pdf")
assert response.status_code == 200, (response.status_code, response.data[:300])
done = time.perf_counter()
print(json.dumps({{"request_s": done - t, "process_s": done - start}}))
"""


def _seeded(url: str):
    from spastic.demo.seed import seed

    app = make_app(url)
    with app.app_context():
        seed()
    client = app.test_client()
    client.post("/login", data={"email": "therapist@demo.test", "password": "spastic-demo"})
    return app, client


def _signed_visit_ids(app) -> list[int]:
    from sqlalchemy import select

    from spastic.extensions import db
    from spastic.models import Clinic, Patient, Visit

    with app.app_context():
        return db.session.scalars(
            select(Visit.id)
            .join(Patient, Visit.patient_id == Patient.id)
            .join(Clinic, Patient.clinic_id == Clinic.id)
            .where(Visit.status == "signed", Clinic.name == "Demo Rehab")
            .order_by(Visit.patient_id, Visit.visit_date)
        ).all()


def _html_of(app, visit_id: int) -> str:
    from spastic.extensions import db
    from spastic.models import Visit
    from spastic.reports.documents import summary_html, summary_sources
    from spastic.reports.known import known_for

    with app.test_request_context():
        visit = db.session.get(Visit, visit_id)
        context, _ = summary_sources(visit, known_for(visit))
        return summary_html(context)


def _weasyprint_alone(html: str):
    """A render of the HTML by WeasyPrint alone, with the app's stylesheet and shared fonts,
    read as the app reads it (`pdf.document`: its user-agent sheet)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from spastic.reports.pdf import STATIC_URL, STYLESHEET, StaticOnly, document

    fonts, fetcher = FontConfiguration(), StaticOnly()
    css = weasyprint.CSS(
        string=STYLESHEET.read_text(),
        base_url=STATIC_URL + "css/",
        font_config=fonts,
        url_fetcher=fetcher,
    )

    def once():
        document(html).write_pdf(stylesheets=[css], font_config=fonts, pdf_variant="pdf/a-3a")

    once()
    return once


def _chromium(html: str, repeat: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    static = ROOT / "static"
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()

        def serve(route):
            path = static / route.request.url.split("/static/", 1)[1]
            route.fulfill(path=str(path)) if path.is_file() else route.abort()

        page.route("https://spastic.invalid/**", serve)
        styled = html.replace(
            "</head>",
            '<link rel="stylesheet" href="https://spastic.invalid/static/css/summary.css"></head>',
        )

        def once():
            page.set_content(styled, wait_until="load")
            page.pdf(format="A4")

        once()
        samples = [timed(once) for _ in range(repeat)]
        browser.close()
    return samples


def _forget_stored(app) -> None:
    from sqlalchemy import delete

    from spastic.extensions import db
    from spastic.models import SummaryDocument

    with app.app_context():
        db.session.execute(delete(SummaryDocument))
        db.session.commit()


def _cold(app, url: str, visit_id: int, repeat: int) -> list[dict]:
    config = {
        "ENV_NAME": "testing",
        "SECRET_KEY": "bench-secret-key-long-enough-0123456789",
        "DATABASE_URL": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }
    script = COLD_SCRIPT.format(root=str(ROOT), config=config, visit_id=visit_id)
    runs = []
    for _ in range(repeat):
        _forget_stored(app)
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=False,
            cwd=tempfile.gettempdir(),
        )
        if out.returncode != 0:
            raise RuntimeError(f"cold run failed: {out.stderr[-2000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs


def _store(app, visit_id: int) -> None:
    from spastic.reports.documents import store_summary

    with app.app_context():
        assert store_summary(visit_id), "the summary was not stored"


def _cached(app, client, url_of: str, visit_id: int, repeat: int) -> tuple[list, list]:
    """The stored copy, interleaved with `GET /healthz` through the same app and client."""
    _store(app, visit_id)
    cached, healthz = [], []
    for _ in range(repeat):
        healthz.append(timed(lambda: client.get("/healthz")))
        cached.append(timed(lambda: client.get(url_of)))
    return cached, healthz


def _signing(app, client, repeat: int) -> dict[str, list[float]]:
    """Sign requests with the summary rendered in the request (inline, as before) and queued
    to the in-process thread (as now), interleaved with `GET /healthz`."""
    from spastic.reports import queue as summaries

    threaded, inline = summaries.summary_queue(app), summaries.InlineQueue(app)
    threaded.start()
    assert threaded.join(900)  # its first sweep stores the demo's summaries: not measured
    samples = {"inline": [], "inprocess": [], "healthz": []}
    for _ in range(repeat):
        for kind, queue in (("inline", inline), ("inprocess", threaded)):
            app.extensions["summary_queue"] = queue
            draft = client.post("/patients/1/visits/new").location
            data = visit_form(client.get(draft).get_data(as_text=True))
            visit_id = int(client.post(draft, data=data).location.split("/")[2])
            samples["healthz"].append(timed(lambda: client.get("/healthz")))
            response = None

            def sign(visit_id=visit_id):
                nonlocal response
                response = client.post(f"/visits/{visit_id}/sign", data={**SIGN, "version": "1"})

            samples[kind].append(timed(sign))
            assert response.status_code == 302, response.status_code
            assert threaded.join(300)  # the thread's render does not overlap the next timing
    app.extensions["summary_queue"] = threaded
    return samples


def _against_healthz(database: str, rows, healthz: list[float]) -> list[dict]:
    base = summary(healthz)
    return [
        {
            "name": f"{name} ({database})",
            "baseline": {"what": "GET /healthz through the same app", **base},
            "measured": measured,
            "ratio_median": round(measured["median_ms"] / base["median_ms"], 2),
        }
        for name, measured in rows
    ]


def run(database: str, url: str, repeat: int = 20) -> list[dict]:
    app, client = _seeded(url)
    visits = _signed_visit_ids(app)
    html = _html_of(app, visits[-1])
    render_alone = _weasyprint_alone(html)
    alone, warm = [], []
    url_of = f"/visits/{visits[-1]}/summary.pdf"  # the same visit, so the same HTML
    for _ in range(repeat):  # interleaved with the baseline: the machine's noise hits both
        alone.append(timed(render_alone))
        _forget_stored(app)
        response = None

        def fetch():
            nonlocal response
            response = client.get(url_of)

        warm.append(timed(fetch))
        assert response.status_code == 200, response.status_code
    cached, healthz = _cached(app, client, url_of, visits[-1], repeat)
    signing = _signing(app, client, max(3, repeat // 2))
    chromium = _chromium(html, max(5, repeat // 2))
    cold = _cold(app, url, visits[-1], 3)
    base = summary(alone)
    rows = [
        ("PDF warm, through the app", summary(warm)),
        ("PDF cold request (fresh process)", summary([c["request_s"] for c in cold])),
        ("PDF cold process incl. imports", summary([c["process_s"] for c in cold])),
        ("same HTML, headless Chromium print", summary(chromium)),
    ]
    return [
        {
            "name": f"{name} ({database})",
            "baseline": {"what": "WeasyPrint alone, same HTML, shared fonts", **base},
            "measured": measured,
            "ratio_median": round(measured["median_ms"] / base["median_ms"], 2),
        }
        for name, measured in rows
    ] + _against_healthz(
        database,
        [
            ("PDF cached (stored), through the app", summary(cached)),
            ("sign request, summary rendered in it (before)", summary(signing["inline"])),
            ("sign request, summary queued off it (now)", summary(signing["inprocess"])),
        ],
        healthz + signing["healthz"],
    )


if __name__ == "__main__":
    start = time.perf_counter()
    for row in run("sqlite", f"sqlite:///{Path(tempfile.mkdtemp())}/pdf.db"):
        print(row["name"], row["measured"]["median_ms"], row["ratio_median"])
    print(f"{time.perf_counter() - start:.1f} s")
