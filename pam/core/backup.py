"""Backups: a consistent snapshot of the database taken while the portal keeps serving,
and loading one into an empty database.

- SQLite: the online backup API copies the database page by page under a read
  transaction, so writers carry on and the copy is one consistent moment.
- PostgreSQL: pg_dump (custom format) reads everything in one repeatable-read snapshot;
  pg_restore loads it in a single transaction, so a failed restore leaves nothing behind.

A backup file says which it is by its first bytes, so restore refuses the wrong kind
with a clear message instead of half-loading it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # pg_dump/pg_restore with fixed arguments, no shell  # nosec B404
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """Something the operator must fix; the message says what."""


def backup(database_url: str | URL, path: Path) -> None:
    """Write a consistent snapshot of the database to `path` (which must not exist).

    The snapshot is written to a private temporary file beside `path` and linked into
    place only when complete: a failed backup leaves nothing under the name (so a retry
    is not refused), and two backups racing for one name cannot overwrite each other."""
    url = make_url(database_url)
    path = Path(path)
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported")
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file name")
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pam-backup-")  # mode 0600
    os.close(handle)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_file(url), Path(temporary))
        else:
            arguments = ["--format=custom", "--no-owner", "--file", temporary]
            _run_pg_tool("pg_dump", url, arguments)
        os.link(temporary, path)  # fails if the name was taken meanwhile: never overwrites
    except FileExistsError:
        raise BackupError(f"{path} already exists: choose a new file name") from None
    finally:
        os.unlink(temporary)


def restore(path: Path, database_url: str | URL) -> None:
    """Load a backup into an empty database of the same kind."""
    url, path = make_url(database_url), Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    kind = _backup_kind(path)
    backend = url.get_backend_name()
    if kind != backend:
        raise BackupError(
            f"{path} is a {kind} backup but the database is {backend}: "
            "restore it into a database of the same kind"
        )
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"The database is not empty ({len(tables)} tables): restore only into an empty one"
        )
    if backend == "sqlite":
        try:
            _sqlite_copy(path, Path(_sqlite_file(url)), check_source=True)
        except sqlite3.DatabaseError as error:
            message = f"{path} cannot be read as a database ({error}): is it damaged?"
            raise BackupError(message) from None
    else:
        _run_pg_tool(
            "pg_restore",
            url,
            ["--no-owner", "--exit-on-error", "--single-transaction", str(path)],
        )


def _backup_kind(path: Path) -> str:
    with path.open("rb") as handle:
        start = handle.read(len(SQLITE_MAGIC))
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a PAM backup (neither SQLite nor pg_dump format)")


def _sqlite_file(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored")
    return url.database


def _sqlite_copy(source: Path | str, target: Path, *, check_source: bool = False) -> None:
    try:
        _sqlite_backup(source, target, check_source)
    except sqlite3.OperationalError as error:  # a missing or unreadable file or folder
        raise BackupError(f"The SQLite copy failed: {error}") from None


def _sqlite_backup(source: Path | str, target: Path, check_source: bool) -> None:
    source_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if check_source:
            names = {row[0] for row in source_db.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in names:
                raise BackupError(f"{source} is an SQLite file but not a PAM database")
        target_db = sqlite3.connect(target)
        try:
            source_db.backup(target_db)
        finally:
            target_db.close()
    finally:
        source_db.close()


def _run_pg_tool(tool: str, url: URL, arguments: list[str]) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    # The password goes in the environment, never on a command line others can read.
    environment = {**os.environ}
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    result = subprocess.run(  # noqa: S603 - fixed argument list, no shell  # nosec B603
        [executable, *arguments, "--dbname", conninfo],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[:2000]}")
