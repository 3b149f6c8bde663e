"""Database connection settings that apply whatever the app: SQLite pragmas.

SQLite does not enforce foreign keys unless asked on every connection; WAL lets the
portal keep reading while a write is in progress; the busy timeout makes a second
writer wait for the first rather than fail at once.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
