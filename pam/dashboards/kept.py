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

A page is also kept until a newer one of the same page (page, filters, threshold) is:
after a change whose suppression patterns are not yet worked out again, the board is
shown it, saying when it was built (pam.dashboards.pages), rather than wait for a work-out
of minutes nationally.

Pages are kept as compressed JSON with a tag for each type a chart holds (Decimal, date,
a suppressed figure, a tuple), never as pickle: a row is data, whoever could write it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.engine import Connection

from pam.audit.models import utcnow
from pam.dashboards import deferred
from pam.dashboards.charts import SUPPRESSED, Chart, DataTable
from pam.dashboards.models import KeptPage
from pam.dashboards.stored import PATTERN_VERSION
from pam.extensions import db

log = logging.getLogger(__name__)

# Change this whenever a change to the pages' building could change a kept page.
PAGE_VERSION = 1
UNASKED_FOR = timedelta(days=31)  # see forget_unasked()
_WAITING = "pam_pages_to_keep"
_CLASSES = {"chart": Chart, "table": DataTable}


def read(stamps: tuple, key: tuple) -> Any:
    """The page kept under these stamps and key by any process (None: none, or a stamp
    unknown)."""
    if None in stamps:
        return None
    return _load(_digest(stamps, key))


def keep(page: str, year: str, stamps: tuple, key: tuple, same_page: tuple, value: Any,
         read_at: datetime) -> None:  # fmt: skip
    """Keep a page built under these stamps for the others, when this request ends (not
    with a stamp unknown). `same_page` is what the page shows apart from the stamps and
    the day (page, filters, threshold): the kept page replaces any older one of it.
    `read_at`: when the stamps were read, so the page holds every change before it (what
    a page shown as it was says it is "as at")."""
    if None in stamps:
        return
    try:
        body = zlib.compress(json.dumps(pack(value)).encode())
    except TypeError:  # something no page should hold: built each time, loudly
        log.warning("a %s page could not be kept", page, exc_info=True)
        return
    digest = _digest(stamps, key)
    row = {"digest": digest, "page": page, "year": year, "stamps": "|".join(stamps),
           "same_page": _same_page_digest(same_page), "body": body,
           "created_at": read_at}  # fmt: skip
    deferred.queue(_WAITING, digest, row)


@dataclass(frozen=True)
class Older:
    """A page kept under older stamps: when it was built, and where it is kept."""

    digest: str
    built_at: datetime

    def read(self) -> Any:
        return _load(self.digest)


def newest_of(same_page: tuple) -> Older | None:
    """The newest page kept of `same_page` (see keep()), under whatever stamps and day."""
    row = db.session.execute(
        select(KeptPage.digest, KeptPage.created_at)
        .where(KeptPage.same_page == _same_page_digest(same_page))
        .order_by(KeptPage.created_at.desc()).limit(1)
    ).first()  # fmt: skip
    return None if row is None else Older(row.digest, _aware(row.created_at))


def _aware(moment: datetime) -> datetime:
    """SQLite gives back a naive datetime: every time PAM keeps is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# A new PATTERN_VERSION (a fault in the suppression's working mended) is a new page: no
# page built with the older working is read, or shown as it was.
def _digest(stamps: tuple, key: tuple) -> str:
    return hashlib.sha256(repr((PAGE_VERSION, PATTERN_VERSION, stamps, key)).encode()).hexdigest()


def _same_page_digest(same_page: tuple) -> str:
    return hashlib.sha256(repr((PAGE_VERSION, PATTERN_VERSION, same_page)).encode()).hexdigest()


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
    # The same page built under older stamps (or another day) is only shown while no
    # newer one is kept (pam.dashboards.pages).
    connection.execute(
        delete(KeptPage).where(or_(KeptPage.same_page == row["same_page"],
                                   KeptPage.digest == row["digest"]))
    )  # fmt: skip
    connection.execute(insert(KeptPage), row)


def forget_unasked(year: str, stamps: tuple) -> None:
    """Delete the year's pages built over UNASKED_FOR ago under stamps other than these
    (the year's, as its work-out just built its pages): a page of a filter nobody has
    asked for since the figures last changed, so filters asked for once are not kept for
    ever. A page under the current stamps stays however old (it is still the page)."""
    if None in stamps:
        return
    db.session.execute(
        delete(KeptPage).where(KeptPage.year == year, KeptPage.stamps != "|".join(stamps),
                               KeptPage.created_at < utcnow() - UNASKED_FOR)
    )  # fmt: skip
    db.session.commit()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(deferred.when_the_context_ends(_WAITING, keep_waiting))
