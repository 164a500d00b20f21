"""Alembic migrations produce exactly the schema the models declare."""

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from spastic import create_app
from spastic.extensions import db
from spastic.models import Base
from tests.conftest import _test_config


def _fresh_url(database, request, tmp_path):
    if database.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/migrated.db"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"migrated_{uuid.uuid4().hex[:8]}")


def test_migrations_match_models(database, request, tmp_path):
    app = create_app(_test_config(_fresh_url(database, request, tmp_path)))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert {"patient", "dose_change", "audit_event", "user_account", "care_team"} <= tables
