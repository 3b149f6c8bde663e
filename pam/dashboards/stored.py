"""Keeping worked-out suppression patterns in the database (see pam.dashboards.models).

`digest()` names a pattern's inputs exactly: the family, the threshold, the facts' cells
in their order (which fixes each cell's place in the masks), the contracts a filter can
choose and PATTERN_VERSION. A pattern worked out during a request is written when the
request's app context ends, on a connection of its own, after the request's session has
gone: a page view holds no write lock while it renders, and a failed write costs only the
cache, never the page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib

from flask import Flask
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from pam.dashboards import deferred
from pam.dashboards.models import StoredPattern
from pam.extensions import db

log = logging.getLogger(__name__)

# Change this whenever a change to pam.dashboards.suppression or .patterns could change
# which figures a pattern hides: every stored pattern is then worked out afresh.
PATTERN_VERSION = 2
_WAITING = "pam_patterns_to_store"


def digest(family, threshold: int, year_sums: bool, cells: dict, contracts: tuple) -> str:
    """`contracts` is ContractIndex.key: (contract, service, provider, areas) in contract
    order. Areas are a set, whose order can differ between processes: sorted here."""
    contracts = [(*fixed, sorted(areas)) for *fixed, areas in contracts]
    described = repr((PATTERN_VERSION, family, threshold, year_sums, list(cells.items()),
                      contracts))  # fmt: skip
    return hashlib.sha256(described.encode()).hexdigest()


def load(key: str) -> set[int] | None:
    """The hidden figures stored under `key`, or None (none stored, or unreadable)."""
    stored = db.session.scalar(select(StoredPattern.hidden).where(StoredPattern.digest == key))
    if stored is None:
        return None
    try:
        return {int(mask, 16) for mask in json.loads(zlib.decompress(stored))}
    except (ValueError, TypeError, zlib.error):
        log.warning("stored suppression pattern %s is unreadable: working it out", key)
        return None


def keep(key: str, family: str, year: str, threshold: int, hidden: set[int]) -> None:
    """Store the pattern when this app context ends (see the module's note)."""
    packed = zlib.compress(json.dumps(sorted(f"{mask:x}" for mask in hidden)).encode())
    row = {"digest": key, "family": family, "year": year, "threshold": threshold,
           "hidden": packed}  # fmt: skip
    deferred.queue(_WAITING, key, row)


def store_waiting() -> None:
    """Store the patterns worked out in this app context now (a command that works them
    out says so only once they are kept). Ends the context's session first."""
    deferred.write_queued(_WAITING, _replace, "suppression patterns")


def _replace(connection: Connection, row: dict) -> None:
    # One pattern per family, year and threshold: an older one was worked out from facts
    # that have since changed, so nothing will ask for it again.
    connection.execute(
        delete(StoredPattern).where(
            StoredPattern.family == row["family"],
            StoredPattern.year == row["year"],
            StoredPattern.threshold == row["threshold"],
        )
    )
    connection.execute(insert(StoredPattern), row)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(deferred.when_the_context_ends(_WAITING, store_waiting))
