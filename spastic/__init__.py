"""spastic: a tablet-first app for spasticity clinics."""

from pathlib import Path

from flask import Flask

from spastic import config as settings
from spastic.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then SPASTIC_* environment, then the test config."""
    app = Flask(
        __name__,
        instance_path=settings.instance_folder(),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings.defaults(app.instance_path))
    app.config.from_prefixed_env("SPASTIC")
    if test_config:
        app.config.from_mapping(test_config)
    settings.apply_environment_defaults(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    return app


def register_extensions(app: Flask) -> None:
    from spastic.database import configure_engine

    url = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **settings.engine_options(url),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    with app.app_context():
        configure_engine(db.engine, app.config.get("SQLITE_SYNCHRONOUS", "FULL"))


def register_blueprints(app: Flask) -> None:
    from spastic import health
    from spastic.accounts import admin_views as admin
    from spastic.accounts import views as auth
    from spastic.exports import views as exports
    from spastic.exports import worklist_views as worklist_export
    from spastic.patients import dose_views as regimen
    from spastic.patients import pump_views as pumps
    from spastic.patients import switch_views as route_switch
    from spastic.patients import views as patients
    from spastic.patients import worklist_views as worklist
    from spastic.reports import views as reports
    from spastic.sharing import inbox_views as inbox
    from spastic.sharing import views as sharing
    from spastic.trends import views as trends
    from spastic.visits import discard_views as discard
    from spastic.visits import offline_views
    from spastic.visits import sign_views as signing
    from spastic.visits import views as visits

    blueprints = (
        *(auth, admin, health, patients, regimen, route_switch, pumps, worklist, visits, trends),
        *(signing, discard, exports, worklist_export, reports, sharing, inbox, offline_views),
    )
    for module in blueprints:
        app.register_blueprint(module.bp)


def register_hooks(app: Flask) -> None:
    from spastic import cli, database, errors, filters, security
    from spastic.accounts import sessions
    from spastic.reports import queue as summaries

    summaries.register(app)
    sessions.register(app)
    security.register(app)
    errors.register(app)
    cli.register(app)
    filters.register(app)
    database.register(app)  # last, so that it marks read requests before any other handler
