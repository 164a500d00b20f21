"""The app refuses an unsafe start and reads SPASTIC_* settings from the environment."""

import pytest

from spastic import create_app
from spastic.config import ConfigError

AUDIT_KEY = "a" * 64


def test_production_refuses_missing_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SPASTIC_SECRET_KEY", raising=False)
    monkeypatch.delenv("SPASTIC_ENV_NAME", raising=False)
    monkeypatch.setenv("SPASTIC_AUDIT_KEY", AUDIT_KEY)
    with pytest.raises(ConfigError, match="SPASTIC_SECRET_KEY is missing or too weak"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


@pytest.mark.parametrize("key", [None, "dev-only-audit-key-not-secret", "short", ""])
def test_production_refuses_missing_or_weak_audit_key(monkeypatch, tmp_path, key):
    monkeypatch.delenv("SPASTIC_ENV_NAME", raising=False)
    monkeypatch.setenv("SPASTIC_SECRET_KEY", "k" * 40)
    if key is None:
        monkeypatch.delenv("SPASTIC_AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("SPASTIC_AUDIT_KEY", key)
    with pytest.raises(ConfigError, match="SPASTIC_AUDIT_KEY is missing or too weak") as refused:
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert "secrets.token_hex(32)" in str(refused.value)


@pytest.mark.parametrize("secret", ["dev-only-not-secret", "short", ""])
def test_production_refuses_default_or_weak_secret(monkeypatch, tmp_path, secret):
    monkeypatch.delenv("SPASTIC_ENV_NAME", raising=False)
    monkeypatch.setenv("SPASTIC_SECRET_KEY", secret)
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_environment_configures_secret_and_database(monkeypatch, tmp_path):
    monkeypatch.delenv("SPASTIC_ENV_NAME", raising=False)
    monkeypatch.setenv("SPASTIC_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("SPASTIC_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("SPASTIC_DATABASE_URL", f"sqlite:///{tmp_path}/from-env.db")
    app = create_app()
    assert app.config["SECRET_KEY"] == "k" * 40
    assert app.config["AUDIT_KEY"] == AUDIT_KEY
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("from-env.db")
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_gets_a_working_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SPASTIC_SECRET_KEY", raising=False)
    monkeypatch.setenv("SPASTIC_ENV_NAME", "development")
    monkeypatch.delenv("SPASTIC_AUDIT_KEY", raising=False)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"]
    assert app.config["AUDIT_KEY"]


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(app, database):
    if not database.startswith("sqlite"):
        pytest.skip("SQLite pragmas")
    from spastic.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
