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
unchanged from before its first read to after its last. The cells and figures are packed
numbers, column by column (see Kept): read back in milliseconds.

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
from dataclasses import dataclass, replace
from typing import Any

import numpy
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
# the cells kept column by column (a list per cell took seconds to read nationally); 5:
# packed as numbers, not JSON.
PATTERN_VERSION = 5
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

    The figures are kept as the cells they are made of, and the cells column by column
    (each one's place in the masks of the family's cells, and its key), as packed arrays
    of numbers: nationally a family hides over a hundred thousand figures, and a reader
    of a few contracts finds its own among them without reading the rest one by one."""

    digest: str
    columns: dict[str, numpy.ndarray]  # _COLUMNS, each a number per cell
    figure_cells: numpy.ndarray  # every figure's cells (indices into the columns) in turn
    figure_ends: numpy.ndarray  # where each figure's cells end in figure_cells
    periods: list[str]
    parts: list[Any]
    small: bool
    year_sums: bool
    stamps: str | None
    sealed: bool

    @property
    def figures(self) -> int:
        """How many figures it hides."""
        return len(self.figure_ends)

    def places(self) -> set[tuple[int, ...]]:
        """Each hidden figure as the places of its cells, for a reader of every cell."""
        places = self.columns["place"][self.figure_cells].tolist()
        return {tuple(sorted(places[start:end])) for start, end in _spans(self.figure_ends)}

    def figures_within(self, contracts: frozenset[int]) -> list[tuple[Cell, ...]]:
        """The hidden figures made of these contracts' cells alone, each its cells' keys."""
        if not self.figures or not contracts:
            return []
        wanted = numpy.fromiter(contracts, dtype=numpy.int64, count=len(contracts))
        theirs = numpy.isin(self.columns["contract"], wanted)[self.figure_cells]
        starts = numpy.concatenate(([0], self.figure_ends[:-1]))
        chosen = numpy.flatnonzero(numpy.logical_and.reduceat(theirs, starts))
        columns = {name: self.columns[name].tolist() for name in _COLUMNS[1:]}
        cells, ends = self.figure_cells.tolist(), self.figure_ends.tolist()
        return [tuple(self._key(columns, cell) for cell in cells[starts[f]:ends[f]])
                for f in chosen.tolist()]  # fmt: skip

    def _key(self, columns: dict[str, list], cell: int) -> Cell:
        period, part = columns["period"][cell], columns["part"][cell]
        return (columns["contract"][cell], columns["quarter"][cell], self.periods[period],
                self.parts[part])  # fmt: skip


def _seal(key: str, content: bytes) -> str:
    """What only a process holding the secret key can write beside a pattern: a pattern
    sealed for its inputs' digest (and stamps) was worked out by PAM from exactly those
    inputs (under this PATTERN_VERSION), so a reader may trust it without checking it
    against every figure the family publishes (seconds to minutes at national scale)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = b"\n".join([SEALED_FOR.encode(), key.encode(), content])
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


_NUMBER = numpy.dtype("<i4")


def _spans(ends: numpy.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each figure's cells, from where each ends."""
    listed = ends.tolist()
    return list(zip([0, *listed][: len(listed)], listed, strict=True))


def pack(key: str, what: dict) -> bytes:
    """The row's bytes for content() as it returns it: the seal, a line break, then the
    content as written (sealed as written, so a reader checks the seal without writing
    the content out again): a line of JSON, and the numbers packed."""
    return _packed(made(key, what, sealed=False))


def _packed(kept: Kept) -> bytes:
    """The row's bytes for a Kept (see pack)."""
    header = {"small": kept.small, "year_sums": kept.year_sums, "stamps": kept.stamps,
              "periods": kept.periods, "parts": kept.parts, "cells": len(kept.columns["place"]),
              "figures": kept.figures, "in_figures": len(kept.figure_cells)}  # fmt: skip
    numbers = [*(kept.columns[name] for name in _COLUMNS), kept.figure_cells, kept.figure_ends]
    written = (
        json.dumps(header, separators=(",", ":")).encode()
        + b"\n"
        + b"".join(column.tobytes() for column in numbers)
    )
    return zlib.compress(_seal(kept.digest, written).encode() + b"\n" + written)


def unpack(stored: bytes) -> tuple[str, bytes]:
    """(the seal, the content as written)."""
    seal, _, written = zlib.decompress(stored).partition(b"\n")
    return seal.decode("ascii"), written


def made(key: str, what: dict, sealed: bool) -> Kept:
    """A Kept of content() as it returns it, unwritten (as it reads back once written)."""
    cells, figures = what["cells"], what["figures"]
    columns = {name: numpy.asarray(cells[name], dtype=_NUMBER) for name in _COLUMNS}
    flat = numpy.asarray([i for figure in figures for i in figure], dtype=_NUMBER)
    ends = numpy.cumsum([len(figure) for figure in figures], dtype=numpy.int64).astype(_NUMBER)
    parts = [tuple(part) if isinstance(part, list) else part for part in cells["parts"]]
    return Kept(key, columns, flat, ends, list(cells["periods"]), parts, what["small"],
                what["year_sums"], what["stamps"], sealed)  # fmt: skip


def read(stored: bytes) -> dict:
    """The content as content() returned it (for looking at a row by hand, and tests)."""
    kept = _unpack("", stored)
    if kept is None:
        raise ValueError("unreadable")
    cells = kept.figure_cells.tolist()
    return {"small": kept.small, "year_sums": kept.year_sums, "stamps": kept.stamps,
            "figures": [cells[start:end] for start, end in _spans(kept.figure_ends)],
            "cells": {**{name: kept.columns[name].tolist() for name in _COLUMNS},
                      "periods": kept.periods, "parts": kept.parts}}  # fmt: skip


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
        line, _, packed = written.partition(b"\n")
        header = json.loads(line)
        n, f, m = header["cells"], header["figures"], header["in_figures"]
        if not all(type(count) is int and count >= 0 for count in (n, f, m)):
            raise ValueError("a count is not a count")
        numbers = numpy.frombuffer(packed, dtype=_NUMBER)
        if len(numbers) != len(_COLUMNS) * n + m + f:
            raise ValueError("the numbers are not as many as it says")
        columns = {name: numbers[i * n : (i + 1) * n] for i, name in enumerate(_COLUMNS)}
        figure_cells = numbers[len(_COLUMNS) * n : len(_COLUMNS) * n + m]
        figure_ends = numbers[len(_COLUMNS) * n + m :]
        periods, parts, stamps = header["periods"], header["parts"], header["stamps"]
        if not sealed:  # what PAM sealed it wrote itself; anything else is looked at
            _check(columns, figure_cells, figure_ends, periods, parts, stamps)
        parts = [tuple(part) if isinstance(part, list) else part for part in parts]
        small, year_sums = header["small"] is True, header["year_sums"] is True
        return Kept(key, columns, figure_cells, figure_ends, periods, parts, small,
                    year_sums, stamps, sealed)  # fmt: skip
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError,
            UnicodeError, zlib.error):  # fmt: skip
        log.warning("stored suppression pattern %s is unreadable: working it out", key)
        return None


def _check(columns: dict, figure_cells, figure_ends, periods: Any, parts: Any,
           stamps: Any) -> None:  # fmt: skip
    """Raise ValueError unless the content is as keep() writes it."""
    if not isinstance(periods, list) or not all(isinstance(name, str) for name in periods):
        raise ValueError("a period's name is not a name")
    if not isinstance(parts, list) or not all(
        isinstance(part, str)
        or (isinstance(part, list) and len(part) == 2 and all(isinstance(p, str) for p in part))
        for part in parts
    ):
        raise ValueError("a part's name is not a name")
    bounds = {"place": MAX_CELLS, "period": len(periods), "part": len(parts)}
    for name, bound in bounds.items():
        if len(columns[name]) and (columns[name].min() < 0 or columns[name].max() >= bound):
            raise ValueError("a cell is not a cell")
    cells = len(columns["place"])
    if len(figure_cells) and (figure_cells.min() < 0 or figure_cells.max() >= cells):
        raise ValueError("a figure's cell is not one of the cells")
    steps = numpy.diff(numpy.concatenate(([0], figure_ends)))
    if len(steps) and (steps.min() < 1 or figure_ends[-1] != len(figure_cells)):
        raise ValueError("a figure has no cells")
    if not len(steps) and len(figure_cells):
        raise ValueError("cells of no figure")
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


def keep_again(kept: Kept, family: str, year: str, threshold: int,
               stamps: tuple | None) -> None:  # fmt: skip
    """Store a pattern read by its digest (the same cells, so the same pattern), sealed
    and under these stamps, as keep() would from its figures: written out as it was read,
    so a reader does not pay for making each hidden figure's cells again (a second for a
    national family), only for packing it."""
    again = replace(kept, stamps=stamps_text(stamps), sealed=True)
    row = {"digest": kept.digest, "family": family, "year": year, "threshold": threshold,
           "stamps": again.stamps, "hidden": _packed(again)}  # fmt: skip
    deferred.queue(_WAITING, kept.digest, row)


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
