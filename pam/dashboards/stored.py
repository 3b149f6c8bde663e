"""Keeping worked-out suppression patterns in the database (see pam.dashboards.models).

`digest()` names a pattern's inputs exactly: the family, the threshold, the facts' cells
in their order (which fixes each cell's place in the masks), the contracts a filter can
choose and PATTERN_VERSION. A pattern worked out during a request is written when the
request's app context ends, on a connection of its own, after the request's session has
gone: a page view holds no write lock while it renders, and a failed write costs only the
cache, never the page.

A pattern is kept as the cells of each figure it hides (a hidden figure is one to three
cells of the family's thousands), each cell named by its key (contract, quarter, period,
part), so that a reader who has read only some contracts' cells can find the figures
among them (pam.dashboards.patterns.SelectionFigures). Beside them: whether the family
has small numbers at all and whether its figures add up over the year, which a reader
of a few contracts cannot tell from them, and the revision stamps of the facts and
contracts the pattern was worked out from (pam.returns.revisions), where the work-out
read them unchanged from before its first read to after its last.

Each pattern is sealed: an HMAC, under the server's secret key, of the digest and all of
the above. A process that finds a sealed pattern answers a figure the family publishes
from it at once (pam.dashboards.patterns.Figures.hides); one sealed under another key is
first checked against every figure the family publishes, and then kept sealed.
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
# out afresh. 3: figures kept by their cells' keys, with the stamps they hold under.
PATTERN_VERSION = 3
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


@dataclass(frozen=True)
class Kept:
    """A stored pattern: the figures it hides, each the keys of its cells; whether the
    family has small numbers and adds up over the year; the stamps it holds under; and
    whether its seal shows that a PAM process with this server's secret key wrote exactly
    these for exactly `digest`."""

    digest: str
    figures: tuple[tuple[Cell, ...], ...]
    small: bool
    year_sums: bool
    stamps: str | None
    sealed: bool


def _content(figures: list, small: bool, year_sums: bool, stamps: str | None) -> dict:
    return {"figures": figures, "small": small, "year_sums": year_sums, "stamps": stamps}


def _seal(key: str, content: dict) -> str:
    """What only a process holding the secret key can write beside a pattern: a pattern
    sealed for its inputs' digest (and stamps) was worked out by PAM from exactly those
    inputs (under this PATTERN_VERSION), so a reader may trust it without checking it
    against every figure the family publishes (seconds to minutes at national scale)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = json.dumps([SEALED_FOR, key, content], separators=(",", ":"), sort_keys=True)
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


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
        packed = json.loads(zlib.decompress(stored))
        content = {name: packed[name] for name in ("figures", "small", "year_sums", "stamps")}
        seal = packed["seal"]
        sealed = isinstance(seal, str) and hmac.compare_digest(seal, _seal(key, content))
        figures = tuple(tuple(map(_cell, figure)) for figure in content["figures"])
        if not all(figures) or not isinstance(content["stamps"], str | None):
            raise ValueError("a figure has no cells")
        return Kept(key, figures, content["small"] is True, content["year_sums"] is True,
                    content["stamps"], sealed)  # fmt: skip
    except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError, zlib.error):
        log.warning("stored suppression pattern %s is unreadable: working it out", key)
        return None


def _cell(listed: Any) -> Cell:
    """A cell's key as JSON has it ([contract, quarter, period, part], a part of two
    names a list) back to the key the family's cells have."""
    contract, quarter, period, part = listed
    if isinstance(part, list) and len(part) == 2 and all(isinstance(p, str) for p in part):
        part = tuple(part)
    if type(contract) is not int or type(quarter) is not int or not isinstance(period, str):
        raise ValueError("not a cell")
    if not isinstance(part, str | tuple):
        raise ValueError("not a cell")
    return (contract, quarter, period, part)


def keep(key: str, family: str, year: str, threshold: int, figures: list[list[Cell]], *,
         small: bool, year_sums: bool, stamps: tuple | None) -> None:  # fmt: skip
    """Store the pattern, sealed, when this app context ends (see the module's note)."""
    content = _content([list(map(list, figure)) for figure in figures], small, year_sums,
                       stamps_text(stamps))  # fmt: skip
    packed = {**content, "seal": _seal(key, json.loads(json.dumps(content)))}
    row = {"digest": key, "family": family, "year": year, "threshold": threshold,
           "stamps": content["stamps"],
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
