"""Configuration defaults and the checks that refuse an unsafe start."""

import os
from pathlib import Path

DEVELOPMENT_SECRET = "dev-only-not-secret"  # noqa: S105 - refused outside development
DEVELOPMENT_AUDIT_KEY = "dev-only-audit-key-not-secret"  # refused outside development
MAKE_A_KEY = "\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\""


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says how to fix it."""


def defaults(instance_path: str) -> dict:
    """Return the settings every deployment starts from."""
    return {
        "ENV_NAME": "production",
        "SECRET_KEY": None,
        # Keys the audit hash chain and signs its checkpoints; lives outside the database.
        "AUDIT_KEY": None,
        "DATABASE_URL": "sqlite:///" + str(Path(instance_path) / "spastic.db"),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_NAME": "spastic_session",
        "WTF_CSRF_TIME_LIMIT": 3600,
        # Request bodies: the fullest visit form (every muscle, Tardieu and side effect, 5000
        # characters of notes) is about 180 fields and under 60 kB, so these leave room.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 500 * 1024,
        "MAX_FORM_PARTS": 1000,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "20 per minute",
        "REAUTH_RATE_LIMIT": "10 per minute",
        "IDLE_TIMEOUT_MINUTES": 30,
        "ABSOLUTE_TIMEOUT_HOURS": 12,
        "TRUSTED_PROXIES": 0,
        # Links emailed to physicians ("Send to physician").
        "PUBLIC_URL": "",
        "SHARE_LINK_DAYS": 14,
        "SHARE_LINK_RATE_LIMIT": "30 per minute",
        "SMTP_HOST": "",
        "SMTP_PORT": 587,
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
        "SMTP_STARTTLS": True,
        "SMTP_FROM": "spastic <no-reply@localhost>",
        "SMTP_TIMEOUT_SECONDS": 15,
        "OUTBOX_FOLDER": str(Path(instance_path) / "outbox"),
        # Summary PDFs are rendered after signing, off the request (spastic/reports/queue.py):
        # "inprocess" (a thread in each app process), "rq" (RQ on Redis at REDIS_URL, for
        # several app servers; run `flask --app spastic summaries-worker`) or "inline".
        "SUMMARY_QUEUE": "inprocess",
        "SUMMARY_QUEUE_SIZE": 200,
        "REDIS_URL": "",
        "SUMMARY_RQ_QUEUE": "spastic-summaries",
        # How long a download waits for its version's job in flight before rendering itself.
        "SUMMARY_WAIT_SECONDS": 5,
    }


def apply_environment_defaults(config: dict) -> None:
    """Fill development-only conveniences; refuse production without real keys."""
    env_name = config.get("ENV_NAME")
    if env_name in ("development", "testing"):
        config["SECRET_KEY"] = config.get("SECRET_KEY") or DEVELOPMENT_SECRET
        config["AUDIT_KEY"] = config.get("AUDIT_KEY") or DEVELOPMENT_AUDIT_KEY
        return
    if _weak(config.get("SECRET_KEY"), DEVELOPMENT_SECRET):
        raise ConfigError(
            "SPASTIC_SECRET_KEY is missing or too weak. Set it to a random value of at "
            f"least 32 characters, e.g. SPASTIC_SECRET_KEY={MAKE_A_KEY} - or set "
            "SPASTIC_ENV_NAME=development on a developer machine."
        )
    if _weak(config.get("AUDIT_KEY"), DEVELOPMENT_AUDIT_KEY):
        raise ConfigError(
            "SPASTIC_AUDIT_KEY is missing or too weak. It keys the audit trail's hash chain "
            "and signs its checkpoints, so keep it outside the database (and a copy in your "
            "password safe: without it the trail cannot be verified). Make one with "
            f"SPASTIC_AUDIT_KEY={MAKE_A_KEY} and never change it."
        )


def _weak(key: object, development_default: str) -> bool:
    return not key or key == development_default or len(str(key)) < 32


def engine_options(database_url: str) -> dict:
    """Return SQLAlchemy engine options suited to the database behind the URL."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5}


def instance_folder() -> str | None:
    """Return an instance folder set in the environment, if any."""
    return os.environ.get("SPASTIC_INSTANCE_PATH")
