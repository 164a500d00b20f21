"""Per-connection settings for SQLite and the transaction mode that keeps writes ordered."""

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine, sqlite_synchronous: str = "FULL") -> None:
    """Set WAL, foreign keys and a busy timeout on every SQLite connection.

    Every SQLite transaction begins IMMEDIATE: nearly every request writes an audit row,
    and a deferred transaction that read first cannot upgrade to a writer once another
    connection has committed (SQLITE_BUSY_SNAPSHOT), which the busy timeout cannot cure.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute(f"PRAGMA synchronous={_checked_synchronous(sqlite_synchronous)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _checked_synchronous(value: str) -> str:
    value = str(value).upper()
    if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"SPASTIC_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {value}")
    return value
