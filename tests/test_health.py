"""GET /healthz reports the database state."""


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(database, tmp_path):
    from spastic import create_app
    from tests.conftest import _test_config

    if database.startswith("sqlite"):
        broken = f"sqlite:///{tmp_path}/no/such/folder/x.db"
    else:
        broken = "postgresql+psycopg://spastic@127.0.0.1:1/nothing"
    app = create_app(_test_config(broken))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}
