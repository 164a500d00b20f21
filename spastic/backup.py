"""Online backup and restore of the database: SQLite's backup API, or pg_dump / pg_restore."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says why."""


def backup(database_url: str, target: Path) -> Path:
    """Copy the live database to `target` without stopping the app."""
    url = make_url(database_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        # The backup API copies a consistent snapshot while writers go on (never copy the file).
        with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        with sqlite3.connect(target) as copy:
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the backup failed its integrity check")
        return target
    if url.get_backend_name() == "postgresql":
        command = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}"]
        _run([*command, _libpq(url)], url.password)
        return target
    raise BackupError(f"no backup method for {url.get_backend_name()}")


def restore(database_url: str, source: Path) -> None:
    """Load a backup into the (new, empty) database named by the URL."""
    url = make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as backup_db, sqlite3.connect(url.database) as live:
            backup_db.backup(live)
        return
    if url.get_backend_name() == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--clean",
                "--if-exists",
                "--single-transaction",
                f"--dbname={_libpq(url)}",
                str(source),
            ],
            url.password,
        )
        return
    raise BackupError(f"no restore method for {url.get_backend_name()}")


def _libpq(url) -> str:
    """A libpq URL without the password (that goes in PGPASSWORD, not on the command line)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if not found:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return str(found)


def _run(command: list[str], password: str | None) -> None:
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    # The program is a fixed PostgreSQL tool; the arguments come from the operator's config.
    result = subprocess.run(  # noqa: S603  # nosec B603
        command, capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} failed")
