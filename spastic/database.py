"""Per-connection settings for SQLite, and the transaction modes that keep writes ordered.

A request that only reads (GET, HEAD, OPTIONS: a GET never writes, see
`tests/test_get_never_writes.py`) queries and renders in plain read transactions, which on
SQLite take no lock that blocks another worker. What such a request must still write - its
audit rows, a login session's "last seen" - is queued with `defer_write` and written at the
end of the same request, in one short write transaction, before the response leaves: if that
write fails, the response is an error page and nothing read is shown unaudited. On PostgreSQL
(READ COMMITTED) that write continues the read's own transaction, where each statement reads
what is committed when it starts, so the chain head read after its lock is the newest: ending
the read and beginning anew would only cost round trips (and a pool check-out with its ping).

Every other transaction on SQLite begins IMMEDIATE: a deferred transaction that read first
cannot upgrade to a writer once another connection has committed (SQLITE_BUSY_SNAPSHOT), which
the busy timeout cannot cure.
"""

from collections.abc import Callable

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from spastic.extensions import db

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LIBPQ_IN_TRANSACTION = 2  # PQTRANS_INTRANS: idle in a valid transaction block (not failed)


def configure_engine(engine: Engine, sqlite_synchronous: str = "FULL") -> None:
    """Set WAL, foreign keys and a busy timeout on every SQLite connection."""
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
        connection.exec_driver_sql("BEGIN" if reading() else "BEGIN IMMEDIATE")


def register(app: Flask) -> None:
    """Mark read requests first of all handlers; write what they queued at their end."""
    app.before_request_funcs.setdefault(None, []).insert(0, _mark_read_request)
    app.after_request(_write_deferred)


def reading() -> bool:
    """Whether this is a read request outside its closing write."""
    return has_request_context() and g.get("_read_request", False) and not g.get("_writing")


def defer_write(write: Callable[[], None]) -> bool:
    """Queue `write` for the closing write transaction of this read request.

    Returns False outside a read request: the caller then writes in its own transaction.
    """
    if not reading():
        return False
    g.setdefault("_deferred_writes", []).append(write)
    return True


def _mark_read_request() -> None:
    g._read_request = request.method in READ_METHODS


def _write_deferred(response):
    writes = g.pop("_deferred_writes", None)
    if not writes:
        return response
    if not _continues_read(db.session()):
        db.session.rollback()  # end the read transaction: a read request wrote nothing of its own
    g._writing = True
    try:
        for write in writes:
            write()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        g._writing = False
    return response


def _continues_read(session) -> bool:
    """Whether the closing write may run in the read request's own transaction.

    Not on SQLite: a deferred transaction that read cannot become the writer (BEGIN IMMEDIATE
    is needed, see above). Not when the session holds changes of the read's own: a read
    request writes none, they are rolled back. Not under an isolation level whose snapshot
    outlives a statement (the chain head read after its lock would be stale), nor in a
    transaction a failed statement aborted.
    """
    if session.get_bind().dialect.name != "postgresql" or not session.in_transaction():
        return False
    if session.new or session.dirty or session.deleted:
        return False
    connection = session.connection()
    if connection.connection.dbapi_connection.info.transaction_status != _LIBPQ_IN_TRANSACTION:
        return False  # e.g. a statement of the read failed (and was handled): begin anew
    options = connection.get_execution_options()
    return options.get("isolation_level", connection.default_isolation_level) == "READ COMMITTED"


def _checked_synchronous(value: str) -> str:
    value = str(value).upper()
    if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"SPASTIC_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {value}")
    return value
