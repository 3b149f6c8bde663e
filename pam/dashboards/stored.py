"""Keeping worked-out suppression patterns in the database (see pam.dashboards.models).

`digest()` names a pattern's inputs exactly: the family, the threshold, the facts' cells
in their order (which fixes each cell's place in the masks), the contracts a filter can
choose and PATTERN_VERSION. A pattern worked out during a request is written when the
request's app context ends, on a connection of its own, after the request's session has
gone: a page view holds no write lock while it renders, and a failed write costs only the
cache, never the page.

A pattern is kept as the cells of each figure it hides (a hidden figure is one to three
cells of the family's thousands) and sealed: an HMAC, under the server's secret key, of
the digest and those cells. A process that finds a sealed pattern for a figure the family
publishes answers from it at once (pam.dashboards.patterns.Figures.hides); an unsealed
one (kept before seals, or under another key) is first checked against every figure the
family publishes, as before, and then kept sealed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import zlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from pam.dashboards import deferred
from pam.dashboards.models import StoredPattern
from pam.dashboards.suppression import mask_of, places_of
from pam.extensions import db

log = logging.getLogger(__name__)

# Change this whenever a change to pam.dashboards.suppression or .patterns could change
# which figures a pattern hides: every stored pattern is then worked out afresh.
PATTERN_VERSION = 2
_WAITING = "pam_patterns_to_store"
SEALED_FOR = "PAM suppression pattern"  # the key signs other things too: say what this is
# A family's cells, at most: far more than a national year holds (about 1.5 million), and
# few enough that no hand-made row can make a mask of unbounded size.
MAX_CELLS = 1 << 26


def digest(family, threshold: int, year_sums: bool, cells: dict, contracts: tuple) -> str:
    """`contracts` is ContractIndex.key: (contract, service, provider, areas) in contract
    order. Areas are a set, whose order can differ between processes: sorted here."""
    contracts = [(*fixed, sorted(areas)) for *fixed, areas in contracts]
    described = repr((PATTERN_VERSION, family, threshold, year_sums, list(cells.items()),
                      contracts))  # fmt: skip
    return hashlib.sha256(described.encode()).hexdigest()


@dataclass(frozen=True)
class Kept:
    """A stored pattern: the figures it hides, each by the places of its cells, and
    whether its seal shows that a PAM process with this server's secret key wrote exactly
    these for exactly `key`."""

    cells: frozenset[tuple[int, ...]]
    sealed: bool

    def hides(self, mask: int) -> bool:
        """Quicker than `hidden` for a few figures: no mask is built, and a figure with
        more cells than any hidden one (a wide total) is not looked for at all."""
        return mask.bit_count() in self._sizes and tuple(_cells_of(mask)) in self.cells

    @cached_property
    def _sizes(self) -> set[int]:
        return {len(figure) for figure in self.cells}

    @cached_property
    def hidden(self) -> set[int]:
        return {mask_of(figure) for figure in self.cells}


def _seal(key: str, cells: list[list[int]]) -> str:
    """What only a process holding the secret key can write beside a pattern: a pattern
    sealed for its inputs' digest was worked out by PAM from exactly those inputs (under
    this PATTERN_VERSION), so a reader may trust it without checking it against every
    figure the family publishes (which takes seconds to minutes at national scale)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = json.dumps([SEALED_FOR, key, cells], separators=(",", ":")).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _cells_of(mask: int) -> list[int]:
    """The places of a figure's cells: a hidden figure has one to three cells of the
    family's thousands, so this is a few numbers where the mask in hex is thousands of
    digits (a family's pattern unpacked to 80 MB at a fifth of national scale)."""
    return list(places_of(mask))


def load(key: str) -> Kept | None:
    """The pattern stored under `key`, or None (none stored, or unreadable: anything but
    lists of cell places, which a damaged or hand-made row could hold, is refused before
    it is turned into masks)."""
    stored = db.session.scalar(select(StoredPattern.hidden).where(StoredPattern.digest == key))
    if stored is None:
        return None
    try:
        packed = json.loads(zlib.decompress(stored))
        if isinstance(packed, list):  # as kept before patterns were sealed: masks in hex
            masks = [int(mask, 16) for mask in packed]
            if any(mask <= 0 or mask.bit_length() > MAX_CELLS for mask in masks):
                raise ValueError("a mask is not a figure")
            return Kept(frozenset(tuple(_cells_of(mask)) for mask in masks), sealed=False)
        listed, seal = packed["cells"], packed["seal"]
        sealed = isinstance(seal, str) and hmac.compare_digest(seal, _seal(key, listed))
        # What PAM sealed it wrote from masks; anything else is looked at cell by cell.
        if not sealed and not (isinstance(listed, list) and all(map(_is_figure, listed))):
            raise ValueError("a figure is not a list of cell places")
        cells = frozenset(map(tuple, listed))
    except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError, zlib.error):
        log.warning("stored suppression pattern %s is unreadable: working it out", key)
        return None
    return Kept(cells, sealed)


def _is_figure(cells: Any) -> bool:
    return (
        isinstance(cells, list)
        and len(cells) > 0
        and all(type(cell) is int and 0 <= cell < MAX_CELLS for cell in cells)
    )


def keep(key: str, family: str, year: str, threshold: int, hidden: set[int]) -> None:
    """Store the pattern, sealed, when this app context ends (see the module's note)."""
    cells = sorted(_cells_of(mask) for mask in hidden)
    packed = {"cells": cells, "seal": _seal(key, cells)}
    row = {"digest": key, "family": family, "year": year, "threshold": threshold,
           "hidden": zlib.compress(json.dumps(packed, separators=(",", ":")).encode())}  # fmt: skip
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
