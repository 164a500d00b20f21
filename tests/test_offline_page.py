"""The service worker and the offline page: served from the root, nothing of anyone in them."""

from tests.conftest import PASSWORD


def test_the_service_worker_may_control_the_whole_app(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.mimetype == "text/javascript"
    assert "Content-Security-Policy" in response.headers
    source = response.get_data(as_text=True)
    assert 'request.method !== "GET"' in source  # saves are never intercepted
    assert "isShell(url)" in source  # only the shell is ever put in the cache


def test_the_offline_page_is_the_same_for_everyone(client, clinic_world):
    anonymous = client.get("/offline").get_data(as_text=True)
    client.post("/login", data={"email": clinic_world["therapist"].email, "password": PASSWORD})
    logged_in = client.get("/offline").get_data(as_text=True)
    assert "No connection to the server" in logged_in
    assert clinic_world["therapist"].name not in logged_in
    assert "csrf_token" not in logged_in and "Log out" not in logged_in
    assert anonymous == logged_in
