"""Built dashboard pages kept in the database, so that one server process builds a page
and every other reads it.

A page's first build in a process can take most of a minute at national scale (the
year's suppression families are described before the stored patterns can be read), and
after a return is accepted every process would otherwise pay it again. A page is kept
under a digest of the revision stamps it was built under and what was asked (page,
filters, threshold, today), so a row is never stale: a change to anything the page reads
is a new digest. As with the stored patterns (pam.dashboards.stored), a page built during
a request is written when the request's app context ends, on a connection of its own,
and a failed write or an unreadable row costs only the cache.

Pages are kept as compressed JSON with a tag for each type a chart holds (Decimal, date,
a suppressed figure, a tuple), never as pickle: a row is data, whoever could write it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import zlib
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from pam.dashboards import deferred
from pam.dashboards.charts import SUPPRESSED, Chart, DataTable
from pam.dashboards.models import KeptPage
from pam.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# Change this whenever a change to the pages' building could change a kept page.
PAGE_VERSION = 1
_WAITING = "pam_pages_to_keep"
_CLASSES = {"chart": Chart, "table": DataTable}


def read_or_build(page: str, year: str, stamps: tuple, key: tuple, build: Callable[[], T]) -> T:
    """The page kept under these stamps and key by any process, else build() (kept for
    the others when this request ends). With a stamp unknown, build() every time."""
    if None in stamps:
        return build()
    digest = hashlib.sha256(repr((PAGE_VERSION, stamps, key)).encode()).hexdigest()
    found = _load(digest)
    if found is not None:
        return found
    value = build()
    try:
        body = zlib.compress(json.dumps(pack(value)).encode())
    except TypeError:  # something no page should hold: build it each time, loudly
        log.warning("a %s page could not be kept", page, exc_info=True)
        return value
    row = {"digest": digest, "page": page, "year": year, "stamps": "|".join(stamps),
           "body": body}  # fmt: skip
    deferred.queue(_WAITING, digest, row)
    return value


def _load(digest: str) -> Any:
    body = db.session.scalar(select(KeptPage.body).where(KeptPage.digest == digest))
    if body is None:
        return None
    try:
        return unpack(json.loads(zlib.decompress(body)))
    except (ValueError, TypeError, KeyError, ArithmeticError, zlib.error):
        log.warning("kept page %s is unreadable: building it again", digest)
        return None


def pack(value: Any) -> Any:
    """A page's charts (and what else it keeps) as JSON values, each type tagged."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if value is SUPPRESSED:
        return {"c": 1}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"t": value.isoformat()}
    if isinstance(value, list):
        return [pack(item) for item in value]
    if isinstance(value, tuple):
        return {"u": [pack(item) for item in value]}
    if isinstance(value, dict):
        return {"m": [[pack(k), pack(v)] for k, v in value.items()]}
    for tag, cls in _CLASSES.items():
        if type(value) is cls:
            return {tag: {f.name: pack(getattr(value, f.name)) for f in dataclasses.fields(cls)}}
    raise TypeError(f"a page cannot keep a {type(value).__name__}")


def unpack(value: Any) -> Any:
    if isinstance(value, list):
        return [unpack(item) for item in value]
    if not isinstance(value, dict):
        return value
    (tag, inner), *rest = value.items()
    if rest:
        raise ValueError("a tagged value has one tag")
    if tag == "c":
        return SUPPRESSED
    if tag == "d":
        return Decimal(inner)
    if tag == "dt":
        return datetime.fromisoformat(inner)
    if tag == "t":
        return date.fromisoformat(inner)
    if tag == "u":
        return tuple(unpack(item) for item in inner)
    if tag == "m":
        return {unpack(k): unpack(v) for k, v in inner}
    cls = _CLASSES[tag]
    return cls(**{name: unpack(item) for name, item in inner.items()})


def keep_waiting() -> None:
    """Keep the pages built in this app context now (a command says so only once they
    are kept). Ends the context's session first."""
    deferred.write_queued(_WAITING, _replace, "dashboard pages")


def _replace(connection: Connection, row: dict) -> None:
    # Pages built under other stamps will never be asked for again.
    connection.execute(
        delete(KeptPage).where(KeptPage.page == row["page"], KeptPage.year == row["year"],
                               KeptPage.stamps != row["stamps"])
    )  # fmt: skip
    connection.execute(delete(KeptPage).where(KeptPage.digest == row["digest"]))
    connection.execute(insert(KeptPage), row)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(deferred.when_the_context_ends(_WAITING, keep_waiting))
