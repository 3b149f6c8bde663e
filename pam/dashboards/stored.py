"""Keeping worked-out suppression patterns in the database (see pam.dashboards.models).

`digest()` names a pattern's inputs exactly: the family, the threshold, the facts' cells
in their order (which fixes each cell's place in the masks), the contracts a filter can
choose and PATTERN_VERSION. A pattern worked out during a request is written when the
request's app context ends, on a connection of its own, after the request's session has
gone: a page view holds no write lock while it renders, and a failed write costs only the
cache, never the page.

A pattern is kept as the figures it hides (a hidden figure is one to three cells of the
family's thousands), each as its cells, and each cell by its place in the masks (for a
reader of every cell) and by its key (contract, quarter, period, part), so that a reader
who has read only some contracts' cells can find the figures among them
(pam.dashboards.patterns.SelectionFigures). Beside them: whether the family has small
numbers at all and whether its figures add up over the year, which a reader of a few
contracts cannot tell from them, and the revision stamps of the facts and contracts the
pattern was worked out from (pam.returns.revisions), where the work-out read them
unchanged from before its first read to after its last. All of it is numbers in lists,
column by column (see Kept): quick to read back.

Each pattern is sealed: an HMAC, under the server's secret key, of the digest and the
content as written. A process that finds a sealed pattern answers a figure the family
publishes from it at once (pam.dashboards.patterns.Figures.hides); one sealed under
another key is first checked against every figure the family publishes, and then kept
sealed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import zlib
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from pam.dashboards import deferred
from pam.dashboards.models import StoredPattern
from pam.extensions import db

log = logging.getLogger(__name__)

# Change this whenever a change to pam.dashboards.suppression or .patterns could change
# which figures a pattern hides, or how it is kept: every stored pattern is then worked
# out afresh. 3: figures kept by their cells' keys, with the stamps they hold under; 4:
# the cells kept column by column (a list per cell took seconds to read nationally).
PATTERN_VERSION = 4
_WAITING = "pam_patterns_to_store"
SEALED_FOR = "PAM suppression pattern"  # the key signs other things too: say what this is


def digest(family, threshold: int, year_sums: bool, cells: dict, contracts: tuple) -> str:
    """`contracts` is ContractIndex.key: (contract, service, provider, areas) in contract
    order. Areas are a set, whose order can differ between processes: sorted here."""
    contracts = [(*fixed, sorted(areas)) for *fixed, areas in contracts]
    described = repr((PATTERN_VERSION, family, threshold, year_sums, list(cells.items()),
                      contracts))  # fmt: skip
    return hashlib.sha256(described.encode()).hexdigest()


def stamps_text(stamps: tuple[str | None, ...] | None) -> str | None:
    """The stamps a pattern holds under, as kept (None: none known)."""
    return None if stamps is None or None in stamps else "|".join(stamps)  # type: ignore[arg-type]


Cell = tuple[int, int, str, Any]  # (contract, quarter, period, part)
# A family's cells, at most: far more than a national year holds (about 1.5 million), and
# few enough that no hand-made row can make a mask of unbounded size.
MAX_CELLS = 1 << 26
_COLUMNS = ("place", "contract", "quarter", "period", "part")


@dataclass(frozen=True)
class Kept:
    """A stored pattern: the figures it hides; whether the family has small numbers and
    adds up over the year; the stamps it holds under; and whether its seal shows that a
    PAM process with this server's secret key wrote exactly these for exactly `digest`.

    The figures are kept as the cells they are made of (indices into `cells`), and the
    cells column by column: each one's place in the masks of the family's cells, and its
    key. Nationally a family hides over a hundred thousand figures; read as lists of
    numbers they take milliseconds, where a list per cell took seconds."""

    digest: str
    figures: list[list[int]]
    cells: dict[str, list]  # _COLUMNS, and "periods" and "parts" that name them
    small: bool
    year_sums: bool
    stamps: str | None
    sealed: bool

    def places(self) -> set[tuple[int, ...]]:
        """Each hidden figure as the places of its cells, for a reader of every cell."""
        place = self.cells["place"]
        return {tuple(sorted(place[i] for i in figure)) for figure in self.figures}

    def figures_within(self, contracts: frozenset[int]) -> list[tuple[Cell, ...]]:
        """The hidden figures made of these contracts' cells alone, each its cells' keys."""
        columns, periods, parts = self.cells, self.cells["periods"], self.cells["parts"]
        keys = {
            i: (contract, columns["quarter"][i], periods[columns["period"][i]],
                parts[columns["part"][i]])
            for i, contract in enumerate(columns["contract"]) if contract in contracts
        }  # fmt: skip
        return [tuple(keys[i] for i in figure) for figure in self.figures
                if all(i in keys for i in figure)]  # fmt: skip


def _seal(key: str, content: bytes) -> str:
    """What only a process holding the secret key can write beside a pattern: a pattern
    sealed for its inputs' digest (and stamps) was worked out by PAM from exactly those
    inputs (under this PATTERN_VERSION), so a reader may trust it without checking it
    against every figure the family publishes (seconds to minutes at national scale)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = b"\n".join([SEALED_FOR.encode(), key.encode(), content])
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def pack(key: str, what: dict) -> bytes:
    """The row's bytes: the seal, a line break, then the content as JSON (sealed as it is
    written, so a reader checks the seal without writing the content out again)."""
    written = json.dumps(what, separators=(",", ":")).encode()
    return zlib.compress(_seal(key, written).encode() + b"\n" + written)


def unpack(stored: bytes) -> tuple[str, bytes]:
    """(the seal, the content as written)."""
    seal, _, written = zlib.decompress(stored).partition(b"\n")
    return seal.decode("ascii"), written


def load(key: str) -> Kept | None:
    """The pattern stored under the digest `key`, or None (none stored, or unreadable)."""
    stored = db.session.scalar(select(StoredPattern.hidden).where(StoredPattern.digest == key))
    return None if stored is None else _unpack(key, stored)


def load_under(family: str, year: str, threshold: int, stamps: tuple) -> Kept | None:
    """The sealed pattern of the family kept under exactly these stamps, or None."""
    text = stamps_text(stamps)
    if text is None:
        return None
    row = db.session.execute(
        select(StoredPattern.digest, StoredPattern.hidden).where(
            StoredPattern.family == family, StoredPattern.year == year,
            StoredPattern.threshold == threshold, StoredPattern.stamps == text)
    ).first()  # fmt: skip
    kept = None if row is None else _unpack(row.digest, row.hidden)
    return kept if kept is not None and kept.sealed and kept.stamps == text else None


def _unpack(key: str, stored: bytes) -> Kept | None:
    """Anything but what keep() writes, which a damaged or hand-made row could hold, is
    refused (and the pattern worked out again) before it is believed."""
    try:
        seal, written = unpack(stored)
        sealed = hmac.compare_digest(seal, _seal(key, written))
        content = json.loads(written)
        cells = {name: content["cells"][name] for name in (*_COLUMNS, "periods", "parts")}
        figures, stamps = content["figures"], content["stamps"]
        if not sealed:  # what PAM sealed it wrote itself; anything else is looked at
            _check(figures, cells, stamps)
        cells["parts"] = [tuple(part) if isinstance(part, list) else part
                          for part in cells["parts"]]  # fmt: skip
        return Kept(key, figures, cells, content["small"] is True,
                    content["year_sums"] is True, stamps, sealed)  # fmt: skip
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError,
            UnicodeError, zlib.error):  # fmt: skip
        log.warning("stored suppression pattern %s is unreadable: working it out", key)
        return None


def _check(figures: Any, cells: dict, stamps: Any) -> None:
    """Raise ValueError unless the content is as keep() writes it."""
    size = len(cells["place"])
    columns = [cells[name] for name in _COLUMNS]
    if not all(isinstance(column, list) and len(column) == size for column in columns):
        raise ValueError("the cells' columns differ")
    names = [cells["periods"], cells["parts"]]
    for column, bound in zip(columns, [MAX_CELLS, None, None, len(names[0]), len(names[1])],
                             strict=True):  # fmt: skip
        if not all(type(n) is int and 0 <= n < (bound or MAX_CELLS) for n in column):
            raise ValueError("a cell is not a cell")
    if not all(isinstance(name, str) for name in names[0]) or not all(
        isinstance(part, str)
        or (isinstance(part, list) and len(part) == 2 and all(isinstance(p, str) for p in part))
        for part in names[1]
    ):
        raise ValueError("a cell's name is not a name")
    if not isinstance(figures, list) or not all(
        isinstance(figure, list) and figure
        and all(type(i) is int and 0 <= i < size for i in figure)
        for figure in figures
    ):  # fmt: skip
        raise ValueError("a figure is not a list of cells")
    if not isinstance(stamps, str | None):
        raise ValueError("the stamps are not text")


def keep(key: str, family: str, year: str, threshold: int, figures: list[list[tuple[int, Cell]]],
         *, small: bool, year_sums: bool, stamps: tuple | None) -> None:  # fmt: skip
    """Store the pattern, sealed, when this app context ends (see the module's note).
    `figures`: each hidden figure as its cells, (place, key) each."""
    packed = content(figures, small=small, year_sums=year_sums, stamps=stamps)
    row = {"digest": key, "family": family, "year": year, "threshold": threshold,
           "stamps": packed["stamps"], "hidden": pack(key, packed)}  # fmt: skip
    deferred.queue(_WAITING, key, row)


def content(figures: list[list[tuple[int, Cell]]], *, small: bool, year_sums: bool,
            stamps: tuple | None) -> dict:  # fmt: skip
    """What a kept pattern holds (see Kept), as keep() writes it."""
    index: dict[int, int] = {}
    cells: dict[str, list] = {name: [] for name in _COLUMNS}
    periods: dict[str, int] = {}
    parts: dict[Any, int] = {}
    listed = []
    for figure in figures:
        listed.append([])
        for place, (contract, quarter, period, part) in figure:
            if place not in index:
                index[place] = len(cells["place"])
                for name, value in zip(_COLUMNS, (place, contract, quarter,
                                                  periods.setdefault(period, len(periods)),
                                                  parts.setdefault(part, len(parts))),
                                       strict=True):  # fmt: skip
                    cells[name].append(value)
            listed[-1].append(index[place])
    return {"figures": listed, "small": small, "year_sums": year_sums,
            "stamps": stamps_text(stamps),
            "cells": {**cells, "periods": list(periods), "parts": list(parts)}}  # fmt: skip


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
