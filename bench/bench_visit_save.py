"""Saving a visit with 24 muscle-side grades, against an empty request through the same app."""

from bench.common import make_app, summary, timed, visit_form


def _client(app):
    from spastic.demo.seed import seed
    from spastic.extensions import db

    with app.app_context():
        seed()
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "therapist@demo.test", "password": "spastic-demo"})
    return client


def run(database: str, url: str, repeat: int = 60) -> dict:
    app = make_app(url)
    client = _client(app)
    baseline, saves = [], []
    for _ in range(repeat):
        baseline.append(timed(lambda: client.get("/healthz")))
        draft = client.post("/patients/1/visits/new").location
        data = visit_form(client.get(draft).get_data(as_text=True))
        response = None

        def save(draft=draft, data=data):
            nonlocal response
            response = client.post(draft, data=data)

        saves.append(timed(save))
        assert response.status_code == 302, response.status_code
    base, measured = summary(baseline), summary(saves)
    return {
        "name": f"visit save, 24 grades ({database})",
        "baseline": {"what": "GET /healthz through the same app", **base},
        "measured": measured,
        "ratio_median": round(measured["median_ms"] / base["median_ms"], 2),
    }
