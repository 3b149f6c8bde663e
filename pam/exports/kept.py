"""Long exports kept under the revision stamps of what they read, so that the returns data
is made once for each change, not once for each download.

A national year's returns data is 800,000 rows: about 6 s to read and write, all of it
holding a server worker (13.5 s at p95 under load, run J). It only changes when a stamp
of pam.returns.revisions does: the year's facts, the return states (returns, versions,
contracts' references, providers' names) or the board inputs (the measures' names). So
the first download after a change is sent as it is made and kept as it goes (a .csv
compressed with gzip, an .xlsx as it is); every later one, by any server process, sends
the kept file: as it is, with `Content-Encoding: gzip`, to a client that accepts that
(every browser does), else decompressed as it is sent.

The stamps are read before the rows and again after the last one; the file is kept only
if they are the same, so a change committed while the rows were read is never kept
under the older stamps. It is written when the request's context ends, on a connection
of its own (pam.dashboards.deferred), and only if the whole file was sent: a download
cut short keeps nothing. A file bigger than KEEP_AT_MOST is sent but not kept.

Kept files are a cache, like the kept dashboard pages: a row may be deleted at any
time, and a changed input is a new digest, so a row is never stale. Every download is
audited, kept or not.

The board pack, which reads what no stamp watches (the delivery plan), is kept too, but
only as the quarter's newest (keep_newest): never sent as current, only as it was while
a new one would have to work a suppression pattern out (pam.exports.board_pack).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy import delete, insert, literal, select, union_all
from sqlalchemy.engine import Connection

from pam.dashboards import deferred
from pam.exports.models import KeptExport
from pam.extensions import db
from pam.returns import revisions
from pam.returns.models import FactRevision, StateRevision

# Change this whenever a change to an export's content could change a kept file.
EXPORT_VERSION = 1
KEEP_AT_MOST = 64 << 20  # bytes as kept (a national year's .csv: 4.65 MB, run L)
GZIP_LEVEL = 6  # zlib's default
_GZIP = 16 + zlib.MAX_WBITS  # zlib's wbits for a gzip header and trailer
_PIECE = 1 << 20  # a kept file is decompressed and sent this much at a time
_WAITING = "pam_exports_to_keep"
# Every stamp an export can read: its year's facts (every year's, for all years), and
# what else says which returns there are and how they are named.
_STATES = (revisions.RETURN_STATES, revisions.BOARD_INPUTS)


@dataclass(frozen=True)
class Key:
    """An export (of one year, or "" for every year) in one format, as the stamps of what
    it reads stand."""

    export: str
    year: str
    fmt: str
    stamps: tuple[str | None, ...]

    @classmethod
    def now(cls, export: str, year: str | None, fmt: str) -> Key:
        return cls(export, year or "", fmt, stamps_of(year))

    @property
    def known(self) -> bool:
        """False when a stamp has no row yet: nothing may be kept under it."""
        return bool(self.stamps) and None not in self.stamps

    @property
    def digest(self) -> str:
        what = (EXPORT_VERSION, self.export, self.year, self.fmt, self.stamps)
        return hashlib.sha256(repr(what).encode()).hexdigest()

    @property
    def encoding(self) -> str:
        return "gzip" if self.fmt == "csv" else "identity"


def stamps_of(year: str | None) -> tuple[str | None, ...]:
    """In one statement: the year's facts stamp (every year's, by name, when none is
    given), then the return states' and the board inputs'."""
    if year:
        return revisions.stamps(year, *_STATES)
    every_year = select(FactRevision.year, FactRevision.revision)
    states = select(StateRevision.name, StateRevision.revision).where(
        StateRevision.name.in_(_STATES)
    )
    # The years first, in order, then the states: a label keeps them apart.
    rows = db.session.execute(
        union_all(
            every_year.add_columns(literal(0).label("kind")),
            states.add_columns(literal(1).label("kind")),
        ).order_by("kind", "year")
    ).all()
    named = {name for name, _, kind in rows if kind == 1}
    if set(_STATES) - named or not any(kind == 0 for *_, kind in rows):
        return (None,)  # a stamp with no row yet, or no facts at all
    return tuple(f"{name}:{revision}" for name, revision, _ in rows)


def find(key: Key) -> KeptExport | None:
    """The file kept under exactly this key, if any process has kept it."""
    if not key.known:
        return None
    return db.session.scalar(select(KeptExport).where(KeptExport.digest == key.digest))


def keeping(key: Key, pieces: Iterable[bytes], rows: int) -> Iterator[bytes]:
    """The pieces of a file as they are made, kept under `key` once the last has been sent,
    if the stamps still stand then."""
    if not key.known:
        yield from pieces
        return
    compressor = (
        zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP) if key.encoding == "gzip" else None
    )
    kept: list[bytes] = []
    size = 0  # once it is over KEEP_AT_MOST, nothing more is kept
    for piece in pieces:
        yield piece  # a download cut short ends here (GeneratorExit): nothing is kept
        if size <= KEEP_AT_MOST:
            kept.append(compressor.compress(piece) if compressor else piece)
            size += len(kept[-1])
    if compressor:
        kept.append(compressor.flush())  # most of a small file is only written here
        size += len(kept[-1])
    if size > KEEP_AT_MOST:
        return  # sent, but too big to keep
    if stamps_of(key.year or None) != key.stamps:
        return  # something it read changed while it was read
    deferred.queue(_WAITING, key.digest, {
        "digest": key.digest, "export": key.export, "year": key.year, "fmt": key.fmt,
        "rows": rows, "encoding": key.encoding, "body": b"".join(kept),
    })  # fmt: skip


def gunzipped(body: bytes) -> Iterator[bytes]:
    """A kept .csv decompressed a piece at a time, for a client that does not accept
    gzip."""
    inflater = zlib.decompressobj(_GZIP)
    for start in range(0, len(body), _PIECE):
        yield inflater.decompress(body[start : start + _PIECE])
    yield inflater.flush()


def keep_newest(export: str, period: str, fmt: str, body: bytes, made_at: datetime) -> None:
    """Keep the newest file made of an export that no stamp can vouch for (the board pack
    reads the delivery plan, which none watches): never sent as current, only as it was
    while a new one would have to work a suppression pattern out (pam.exports.board_pack).
    `made_at`: when it began to read what it holds."""
    digest = hashlib.sha256(repr((export, period, fmt, made_at)).encode()).hexdigest()
    deferred.queue(_WAITING, digest, {
        "digest": digest, "export": export, "year": period, "fmt": fmt, "rows": 0,
        "encoding": "identity", "body": body, "created_at": made_at,
    })  # fmt: skip


def newest(export: str, period: str, fmt: str) -> KeptExport | None:
    """The newest file kept by keep_newest()."""
    return db.session.scalar(
        select(KeptExport).where(KeptExport.export == export, KeptExport.year == period,
                                 KeptExport.fmt == fmt)
    )  # fmt: skip


def keep_waiting() -> None:
    """Keep the files made in this app context now. Ends the context's session first."""
    deferred.write_queued(_WAITING, _replace, "exports")


def _replace(connection: Connection, row: dict) -> None:
    # The file this one replaces is older (made under older stamps, or earlier): never
    # sent again.
    connection.execute(
        delete(KeptExport).where(KeptExport.export == row["export"],
                                 KeptExport.year == row["year"], KeptExport.fmt == row["fmt"])
    )  # fmt: skip
    connection.execute(insert(KeptExport), row)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(deferred.when_the_context_ends(_WAITING, keep_waiting))
