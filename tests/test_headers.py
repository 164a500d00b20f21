"""A crawl of every GET route: security headers, no-store on patient data, HSTS over HTTPS."""

import pytest

from tests.conftest import PASSWORD

SKIP = {"auth.logout"}  # POST only


def _get_urls(app, ids):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIP:
            continue
        url = rule.rule
        if rule.endpoint == "static":
            url = "/static/css/app.css"
        for name, value in {**ids, "token": "not-a-token"}.items():
            url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        yield rule.endpoint, url


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_get_route_sends_the_security_headers(app, clinic_world, patient_records, scheme):
    client = app.test_client()
    base = f"{scheme}://localhost"
    client.post(f"{base}/login", data={"email": "t@home.test", "password": PASSWORD})
    crawled = 0
    for endpoint, url in _get_urls(app, patient_records):
        response = client.get(base + url)
        response.close()
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src, endpoint
        assert "frame-ancestors 'none'" in csp, endpoint
        assert headers["X-Content-Type-Options"] == "nosniff", endpoint
        assert headers["Referrer-Policy"] == "same-origin", endpoint
        if endpoint != "static":
            assert headers["Cache-Control"] == "no-store", endpoint
        if scheme == "https":
            assert headers["Strict-Transport-Security"].startswith("max-age="), endpoint
        else:
            assert "Strict-Transport-Security" not in headers, endpoint
        crawled += 1
    assert crawled >= 20


def test_session_cookie_flags(app, clinic_world):
    plain = app.test_client().post(
        "http://localhost/login", data={"email": "t@home.test", "password": PASSWORD}
    )
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().post(
        "https://localhost/login", data={"email": "t@home.test", "password": PASSWORD}
    )
    assert "Secure" in secure.headers["Set-Cookie"]


def test_logged_out_script_gets_401_json_and_pages_go_to_login(app, clinic_world):
    client = app.test_client()
    api = client.post("/drafts/1/autosave", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.get_json()["error"] == "logged_out"
    page = client.get("/patients/1")
    assert page.status_code == 302 and "/login?next=/patients/1" in page.location


def test_ping_keeps_the_session(app, client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    response = client.get("/account/ping", headers={"Accept": "application/json"})
    assert response.get_json() == {"idle_timeout_minutes": 30}


def test_common_password_is_refused(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "qwertyasdfgh",
            "confirm": "qwertyasdfgh",
        },
    )
    assert "commonly used passwords" in response.get_data(as_text=True)
