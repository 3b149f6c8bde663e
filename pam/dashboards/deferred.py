"""Rows a request works out for a cache table (the stored suppression patterns, the kept
pages), written when its app context ends, on a connection of its own, after the
request's session has gone: a page view holds no write lock while it renders, and a
failed write costs only the cache, never the page."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import g
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from pam.extensions import db

log = logging.getLogger(__name__)


def queue(name: str, key: str, row: dict) -> None:
    """Queue a row of the cache `name` to be written when this app context ends."""
    g.setdefault(name, {})[key] = row


def write_queued(name: str, write: Callable[[Connection, dict], None], what: str) -> None:
    """Write the rows queued for `name` now, each with write(connection, row), in one
    transaction. Ends the context's session first."""
    rows = g.pop(name, None)
    if not rows:
        return
    db.session.remove()  # the request's own transaction ends first (SQLite: no lock held)
    try:
        with db.engine.begin() as connection:
            for row in rows.values():
                write(connection, row)
    except SQLAlchemyError:  # another worker wrote it first, or the database is busy
        log.warning("%s could not be kept", what, exc_info=True)


def when_the_context_ends(name: str, write_now: Callable[[], None]):
    """A teardown function: write what was queued, unless the context ended in error."""

    def teardown(error: BaseException | None) -> None:
        if error is None:
            write_now()
        else:
            g.pop(name, None)

    return teardown
