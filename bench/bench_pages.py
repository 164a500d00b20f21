"""The patient page and the visit form (24 grades entered), against an empty request through
the same app, measured interleaved (one baseline request before each measured one)."""

from bench.bench_visit_save import _client
from bench.common import make_app, summary, timed, visit_form


def _form_with_grades(client) -> str:
    """A draft holding the 24 grades a tablet enters (autosaved), as the form reopens it."""
    draft = client.post("/patients/1/visits/new").location
    data = visit_form(client.get(draft).get_data(as_text=True))
    response = client.post(f"{draft}/autosave", data=data)
    assert response.status_code == 200 and response.get_json()["saved"], response.status_code
    return draft


def _row(name: str, client, url: str, repeat: int, shows: str) -> dict:
    baseline, pages = [], []
    for _ in range(repeat):
        baseline.append(timed(lambda: client.get("/healthz")))
        response = None

        def page():
            nonlocal response
            response = client.get(url)

        pages.append(timed(page))
        assert response.status_code == 200, response.status_code
        assert shows in response.get_data(as_text=True)
    base, measured = summary(baseline), summary(pages)
    return {
        "name": name,
        "baseline": {"what": "GET /healthz through the same app", **base},
        "measured": measured,
        "ratio_median": round(measured["median_ms"] / base["median_ms"], 2),
    }


def run(database: str, url: str, repeat: int = 60) -> list[dict]:
    app = make_app(url)
    client = _client(app)
    draft = _form_with_grades(client)
    for _ in range(3):  # warm both pages (templates compiled, caches filled) before measuring
        client.get("/patients/1")
        client.get(draft)
    return [
        _row(f"patient page ({database})", client, "/patients/1", repeat, "MRN"),
        _row(f"visit form, 24 grades ({database})", client, draft, repeat, 'checked id="mas-'),
    ]
