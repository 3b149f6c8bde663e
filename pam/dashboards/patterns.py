"""One suppression pattern per family of figures and financial year, read by every output.

A family is the figures that are published together and add up together: one measure
(VS02 victims supported), a measure with the breakdown the outcomes page shows beside it
(RJ07 by process type), two measures whose breakdowns are shown as one table (RJ01 and
VS01 by referral source), satisfaction, or one protected characteristic of equality
monitoring. Its cells are each contract's figure for each period and part (a category,
say); its published figures are every sum the portal can show of them:

* for every set of contracts a filter can choose (all; each area, service and provider,
  and each combination of them; each single contract),
* in each quarter and the year (the year only where the figures add up over the year),
* for each part the pages show (a category, the breakdown's total, the measure).

The pattern (pam.dashboards.suppression) is worked out once from all of these, whatever
page, filter, quarter, board pack or evaluation report is asking, so a figure hidden
anywhere is hidden everywhere and no two outputs can be subtracted to reveal it. The
dashboards, the board pack and evaluation reports read figures and their suppression only
through here.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, wraps
from itertools import product
from threading import Lock
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select

from pam.contracts.models import Contract, contract_areas
from pam.core.periods import FinancialYear
from pam.dashboards import stored
from pam.dashboards.memo import Remembered, under_revisions
from pam.dashboards.suppression import Pattern, is_small, mask_of, places_of
from pam.extensions import db
from pam.outcomes.models import BREAKDOWNS
from pam.returns import revisions
from pam.returns.layout import EQUALITY, slug
from pam.returns.models import ReturnFact

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

QUARTERS = ("Q1", "Q2", "Q3", "Q4")
YEAR = "Year"
COLUMNS = (*QUARTERS, YEAR)
CATEGORIES = "categories"  # a breakdown's total: the sum of its categories
ALL = "all"
# A rate (percentage) and the counts of people it is built on: where any of them is
# suppressed or small, so is the rate.
BASES = {"RJ08": ("RJ04", "RJ05"), "RJ09": ("RJ04", "RJ05"), "VS03": ("VS02",)}


@dataclass(frozen=True)
class Family:
    """Figures suppressed together. `kind` and `codes` select the facts; `breakdown`
    is the breakdown published with them (its categories are parts of the figures)."""

    name: str
    kind: str
    codes: tuple[str, ...]
    breakdown: str = ""

    @property
    def categories(self) -> list[str]:
        if self.kind == "E":
            return [slug(name) for name in EQUALITY[self.codes[0]][1]]
        return [slug(name) for name in BREAKDOWNS[self.breakdown][1]] if self.breakdown else []

    def groups_of(self, part: Any) -> tuple[str, ...]:
        """The published parts (rows of a table) a cell's part counts towards."""
        if self.kind == "Q":
            return (part, "responses")
        if self.kind == "E":
            return (part, ALL)
        code, category = part
        return (code, category, CATEGORIES) if category else (code,)

    @property
    def relations(self) -> list[tuple[str, list[str]]]:
        """Published parts that add up to another published part."""
        if self.kind == "Q":
            return [("responses", ["satisfied", "unsatisfied"])]
        if self.kind == "E":
            return [(ALL, self.categories)]
        return [(CATEGORIES, self.categories)] if self.breakdown else []

    @property
    def group_names(self) -> list[str]:
        if self.kind == "Q":
            return ["responses", "satisfied", "unsatisfied"]
        if self.kind == "E":
            return [*self.categories, ALL]
        return [*self.codes, *self.categories, *([CATEGORIES] if self.breakdown else [])]


REFERRALS = Family("referrals", "K", ("RJ01", "VS01"), "referral_source")
PROCESSES = Family("processes", "K", ("RJ07",), "process_type")
SATISFACTION = Family("satisfaction", "Q", ("responses", "satisfied"))


def measure_family(code: str) -> Family:
    """The family a measure's counts belong to (its own, unless published with others)."""
    for family in (REFERRALS, PROCESSES):
        if code in family.codes:
            return family
    return Family(code, "K", (code,))


def equality_family(characteristic: str) -> Family:
    return Family(f"equality:{characteristic}", "E", (characteristic,), characteristic)


def columns_quarters(column: str) -> tuple[int, ...]:
    """'Q2' -> (2,); 'Year' -> (1, 2, 3, 4)."""
    return (1, 2, 3, 4) if column == YEAR else (int(column[1]),)


# --- the contracts a filter can choose ----------------------------------------------------


@dataclass
class ContractIndex:
    """Each contract's service, provider and areas, for the contracts reporting in a
    year: what the area, service and provider filters choose between."""

    services: dict[int, int]
    providers: dict[int, int]
    areas: dict[int, frozenset[int]]

    @classmethod
    def load(cls, year: FinancialYear) -> ContractIndex:
        # Joined to the year's distinct contracts, not `IN` them: PostgreSQL turns the IN
        # into a probe per contract that walks its earlier years' facts (0.3 s at 20%).
        reporting = (
            select(ReturnFact.contract_id).where(ReturnFact.year == year.label).distinct()
        ).subquery()
        rows = db.session.execute(
            select(Contract.id, Contract.service_category_id, Contract.provider_id).join(
                reporting, reporting.c.contract_id == Contract.id
            )
        ).all()
        areas: dict[int, set[int]] = defaultdict(set)
        for contract_id, area_id in db.session.execute(
            select(contract_areas.c.contract_id, contract_areas.c.area_id).join(
                reporting, reporting.c.contract_id == contract_areas.c.contract_id
            )
        ):
            areas[contract_id].add(area_id)
        return cls(
            {row[0]: row[1] for row in rows},
            {row[0]: row[2] for row in rows},
            {row[0]: frozenset(areas[row[0]]) for row in rows},
        )

    @property
    def key(self) -> tuple:
        return tuple(
            (contract, self.services[contract], self.providers[contract], self.areas[contract])
            for contract in sorted(self.services)
        )

    def matching(self, area: int | None, service: int | None, provider: int | None):
        """The contracts a filter chooses (every one for no filter)."""
        return frozenset(
            contract
            for contract in self.services
            if (area is None or area in self.areas[contract])
            and (service is None or self.services[contract] == service)
            and (provider is None or self.providers[contract] == provider)
        )

    def filters_for(self, contract: int) -> list[tuple]:
        """Every filter (area, service, provider) that chooses this contract."""
        return list(
            product(
                (None, *sorted(self.areas[contract])),
                (None, self.services[contract]),
                (None, self.providers[contract]),
            )
        )


# --- one family's figures for a year ------------------------------------------------------


class KeptPatternWrong(Exception):
    """A sealed pattern answered a figure it cannot be right about: see consistent()."""


class BeyondTheSelection(KeptPatternWrong):
    """A figure a family read for a filter's contracts alone cannot answer (one with
    other contracts, or one it does not publish): the output is built again from the
    start with every family read in full (see consistent())."""


class NotWorkedOut(Exception):
    """A figure needs its family's pattern worked out (none is kept for its cells), in an
    output built without_working_out()."""


# Digests (and stamps) of sealed patterns this process found wrong: read in full from
# then on.
_DISTRUSTED = Remembered(256)
_BUILDING: ContextVar[bool] = ContextVar("pam_building_an_output", default=False)
# Set once an output has asked what its filter's contracts alone could not answer.
_IN_FULL: ContextVar[bool] = ContextVar("pam_families_read_in_full", default=False)
# The most cells a family may have for an output being built to work its pattern out
# (see NotWorkedOut): every family, but while without_working_out().
_WORK_OUT_UP_TO: ContextVar[float] = ContextVar("pam_work_out_up_to", default=math.inf)
# While withholding(): the families whose figures were withheld as not worked out.
_WITHHELD: ContextVar[set[str] | None] = ContextVar("pam_withheld_families", default=None)
MAX_REBUILDS = 32  # more than any year's families
# Seconds an output built without working out waits for a thread answering from the
# same family's figures before it gives up (NotWorkedOut): that thread may be working the
# pattern out.
LOCK_WAIT = 2.0


@contextmanager
def without_working_out(up_to_cells: float = 0) -> Iterator[None]:
    """Within: a figure whose family has no pattern kept for its cells raises NotWorkedOut
    rather than work one out (minutes for a national year), unless the family has at most
    `up_to_cells` cells (a single office's year: a second at most)."""
    token = _WORK_OUT_UP_TO.set(up_to_cells)
    try:
        yield
    finally:
        _WORK_OUT_UP_TO.reset(token)


def built_without_working_out(build: Callable[[], T], up_to_cells: float = 0) -> T | None:
    """build(), or None where it would have to work a suppression pattern out for a
    family of more than `up_to_cells` cells: an output then shows what it was before a
    change (the board's pages, the board pack)."""
    try:
        with without_working_out(up_to_cells):
            return build()
    except NotWorkedOut:
        return None


def built_withholding(build: Callable[[], T], up_to_cells: float = 0) -> tuple[T, set[str]]:
    """build() without working a pattern out, as built_without_working_out, but with every
    figure that would need one withheld (answered as hidden) rather than given up on: and
    the names of the families withheld. Hiding more than the pattern would never gives a
    small number away, so the output is safe to show; it is not the output as it stands,
    so it is not to be kept."""
    withheld: set[str] = set()
    token = _WITHHELD.set(withheld)
    try:
        with without_working_out(up_to_cells):
            return build(), withheld
    finally:
        _WITHHELD.reset(token)


def _not_worked_out(family: str) -> bool:
    """A figure of a family whose pattern may not be worked out here: withheld (True) where
    the output is built withholding(), else NotWorkedOut."""
    withheld = _WITHHELD.get()
    if withheld is None:
        raise NotWorkedOut(family)
    withheld.add(family)
    return True


def consistent(build: Callable[P, T]) -> Callable[P, T]:
    """An output (a page, the board pack) built again from the start if a kept pattern
    proves wrong part-way through, so none mixes its answers with the right ones."""

    @wraps(build)
    def building(*args: P.args, **kwargs: P.kwargs) -> T:
        if _BUILDING.get():  # part of a wider output (the board pack): that starts again
            return build(*args, **kwargs)
        token, in_full = _BUILDING.set(True), _IN_FULL.set(False)
        try:
            # Each wrong pattern is distrusted once found, so each family can send the
            # output back to the start once; past that something else is wrong: say so.
            for _attempt in range(MAX_REBUILDS):
                try:
                    return build(*args, **kwargs)
                except BeyondTheSelection:
                    _IN_FULL.set(True)
                except KeptPatternWrong:
                    continue
            return build(*args, **kwargs)
        finally:
            _BUILDING.reset(token)
            _IN_FULL.reset(in_full)

    return building


class Figures:
    """A family's figures for one financial year and the pattern that says which of them
    may be shown. A figure is chosen by contracts (None: all), a column (a quarter or
    the year) or a set of periods, and a published part."""

    def __init__(self, family: Family, cells: dict, index: ContractIndex, year_sums: bool,
                 threshold: int, stored_as: tuple[str, str] | None = None,
                 stamps: tuple | None = None):  # fmt: skip
        self.family = family
        self.stored_as = stored_as  # (digest, year): where the worked-out pattern is kept
        # The year's pattern stamps, where the cells and index were read while they held
        # (None: a change fell between): the pattern is kept under them too.
        self.stamps = stamps
        self.year_sums = year_sums
        self.index = index
        self.pattern = Pattern(cells, threshold)
        self.contracts = frozenset(cell[0] for cell in cells)
        # (contract, group) -> [(quarter, period, the cell's place in the masks)]
        self._cells: dict[tuple[int, str], list[tuple[int, str, int]]] = defaultdict(list)
        for cell in cells:
            contract, quarter, period, part = cell
            place = self.pattern.place(cell)
            for group in family.groups_of(part) if place is not None else ():
                self._cells[contract, group].append((quarter, period, place))
        self._masks: dict[tuple, int] = {}
        self._described = False
        self._sealed: _Hidden | bool | None = None  # the sealed pattern kept, once read
        self._answered_from_seal = False
        self._lock = Lock()

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS if self.year_sums else QUARTERS

    def mask(self, contracts=None, column: str = YEAR, group: str = ALL, periods=None) -> int:
        contracts = self.contracts if contracts is None else frozenset(contracts)
        key = (contracts, column, group, None if periods is None else frozenset(periods))
        if key not in self._masks:
            quarters = columns_quarters(column)
            self._masks[key] = mask_of(
                place
                for contract in contracts
                for quarter, period, place in self._cells.get((contract, group), ())
                if quarter in quarters and (periods is None or period in periods)
            )
        return self._masks[key]

    def value(self, mask: int) -> Decimal:
        return self.pattern.value(mask)

    @property
    def _has_anything_to_hide(self) -> bool:
        return bool(self.pattern.threshold and self.pattern.has_small_cells)

    def hides(self, mask: int, published: bool = False) -> bool:
        """Whether the figure is withheld. `published`: the caller knows it is one of the
        figures the family publishes (see publishes()), which a sealed pattern some
        process kept answers without this one describing the whole family first."""
        # A worked-out pattern may be shared by the server's threads. One built without
        # working out does not wait for another thread working this one out (minutes).
        may_work_out = self.pattern.size <= _WORK_OUT_UP_TO.get()
        if not self._lock.acquire(timeout=-1 if may_work_out else LOCK_WAIT):
            return _not_worked_out(self.family.name)
        try:
            if not self._described and self._has_anything_to_hide:
                answer = self._from_sealed(mask) if published else None
                if answer is not None:
                    return answer
                if not may_work_out and not self._pattern_kept():
                    return _not_worked_out(self.family.name)
                self._describe()
                self._settle()
            return self.pattern.hides(mask)
        finally:
            self._lock.release()

    def _from_sealed(self, mask: int) -> bool | None:
        """The kept pattern's answer for a published figure, or None where there is no
        sealed one to read. One that would show a small number is distrusted (_distrust)."""
        if not self._pattern_kept() or _DISTRUSTED.get(self._distrusted_as):
            return None  # none kept, or not sealed, or proved wrong here
        self._answered_from_seal = True
        if self._sealed.hides(mask):
            return True
        if is_small(self.value(mask), self.pattern.threshold):
            self._distrust("shows a small number")
        return False

    def _pattern_kept(self) -> bool:
        """Whether some process kept a sealed pattern for these cells (if not, answering
        means working one out). None found is looked for again next time: this object
        outlives the request, and another process may keep one meanwhile."""
        if not self._sealed and self.stored_as is not None:
            self._sealed = self._read_sealed()
        return bool(self._sealed)

    def _read_sealed(self) -> _Hidden | bool:
        """The sealed pattern kept for these cells, as places in their masks (False: none,
        or not one these cells can have: a pattern that hides nothing, in a family with
        small numbers, cannot be right). Kept again under this read's stamps if it was
        kept under others: the same cells, so the same pattern."""
        kept = stored.load(self.stored_as[0])  # type: ignore[index]
        if kept is None or not kept.sealed or not kept.figures:
            return False
        if self.stamps is not None and kept.stamps != stored.stamps_text(self.stamps):
            self._keep_again(kept)
        return _Hidden(kept.places())

    def _settle(self) -> None:
        """Read the pattern if a server process has worked it out before; otherwise work
        it out, and keep it for the others."""
        if self.stored_as is None:
            return
        kept = stored.load(self.stored_as[0])
        hidden = None if kept is None else _Hidden(kept.places())
        if kept is not None and hidden is not None and self.pattern.adopt(hidden.masks):
            # Checked as ever here: sealed (and under this read's stamps), later readers
            # need not.
            if not kept.sealed:  # checked here: kept as this process's own cells say
                self._keep(hidden.masks)
            elif kept.stamps != stored.stamps_text(self.stamps):
                self._keep_again(kept)
            return
        self._keep(self.pattern.settled())
        if kept is not None and kept.sealed and self._answered_from_seal:
            self._distrust("was refused")

    def _keep(self, hidden: set[int]) -> None:
        key, year = self.stored_as  # type: ignore[misc]
        figures = [list(zip(places_of(mask), self.pattern.cells(mask), strict=True))
                   for mask in hidden]  # fmt: skip
        stored.keep(key, self.family.name, year, self.pattern.threshold, figures,
                    small=self.pattern.has_small_cells, year_sums=self.year_sums,
                    stamps=self.stamps)  # fmt: skip

    def _keep_again(self, kept: stored.Kept) -> None:
        """Keep a sealed pattern read by digest (these cells' own) under this read's
        stamps. Never one that was not sealed: only its hidden figures were checked, and
        what else it says (whether the family has small numbers, the cells' keys) is
        what a filter's reader trusts once it is sealed."""
        if not kept.sealed:
            raise ValueError("only a sealed pattern is kept again as it was read")
        _key, year = self.stored_as  # type: ignore[misc]
        stored.keep_again(kept, self.family.name, year, self.pattern.threshold, self.stamps)

    def keep_nothing_to_hide(self) -> None:
        """Keep, for a family with no small numbers (or no threshold), that it hides
        nothing: a reader of a few contracts' cells cannot tell that from them."""
        if self.stored_as is not None and not self._has_anything_to_hide:
            self._keep(set())

    @property
    def _distrusted_as(self) -> Any:
        """What this process remembers the kept pattern by, once it proves wrong."""
        return self.stored_as[0]  # type: ignore[index]

    def _distrust(self, why: str) -> None:
        """Only a fault (a change to the working without a new PATTERN_VERSION) makes a
        sealed pattern wrong, but the figures it already answered may be wrong too: this
        process reads it no more, and the output is built again from the start with the
        family described in full (consistent())."""
        _DISTRUSTED.put(self._distrusted_as, True)
        log.error("kept pattern for %s %s: working it out", self.family.name, why)
        raise KeptPatternWrong(self.family.name)

    def publishes(self, contracts=None, column: str = YEAR, group: str = ALL,
                  periods=None) -> bool:  # fmt: skip
        """Is this one of the figures _describe() publishes: a filter's contracts (or one
        contract, or all) in one of the family's columns, for one of its parts? Known
        without describing the family; a set of periods (an evaluation's) is not."""
        if periods is not None or column not in self.columns:
            return False
        if group not in self.family.group_names:
            return False
        if contracts is None:
            return True
        chosen = frozenset(contracts) & self.contracts
        return len(chosen) <= 1 or chosen in self._filter_sets

    @cached_property
    def _filter_sets(self) -> set[frozenset[int]]:
        return set(self._sets.values())

    def hidden(self, contracts=None, column: str = YEAR, group: str = ALL, periods=None) -> bool:
        """Whether one figure is withheld."""
        mask = self.mask(contracts, column, group, periods)
        if not mask or not self._has_anything_to_hide:
            return False  # an officer's view, or no small numbers: no need to ask more
        return self.hides(mask, self.publishes(contracts, column, group, periods))

    def figure(self, contracts=None, column: str = YEAR, group: str = ALL, periods=None):
        """(value, suppressed?) of one figure."""
        mask = self.mask(contracts, column, group, periods)
        return self.value(mask), self.hidden(contracts, column, group, periods)

    def small_within(self, contracts=None, column: str = YEAR, group: str = ALL,
                     periods=None) -> bool:  # fmt: skip
        """Is any cell of the figure a small number (for the rates built on it)?"""
        return self.pattern.small_within(self.mask(contracts, column, group, periods))

    # --- every figure the portal can publish ----------------------------------------------

    def _describe(self) -> None:
        self._described = True
        sets = self._sets
        for contracts in set(sets.values()) | {frozenset({c}) for c in self.contracts}:
            self._describe_set(contracts)
        for key, contracts in sets.items():
            self._describe_filter(key, contracts, sets)
        for contract in self.contracts:
            self._describe_contract(contract, sets)

    @cached_property
    def _sets(self) -> dict[tuple, frozenset[int]]:
        """Each filter's contracts in the family: a filter chooses a contract where it is
        one of the contract's filters (a pass over the contracts, not one per filter)."""
        sets: dict[tuple, set[int]] = defaultdict(set)
        for contract in self.contracts:
            for key in self.index.filters_for(contract):
                sets[key].add(contract)
        return {key: frozenset(contracts) for key, contracts in sets.items()}

    def _describe_set(self, contracts: frozenset[int]) -> None:
        """A set's quarters add up to its year; its parts to their totals; its contracts
        to the set."""
        for group in self.family.group_names:
            quarters = [self.mask(contracts, column, group) for column in QUARTERS]
            if self.year_sums:
                self.pattern.group(self.mask(contracts, YEAR, group), quarters)
            else:
                self.pattern.publish(*quarters)
        for column in self.columns:
            for total, parts in self.family.relations:
                self._group(contracts, column, total, [(contracts, part) for part in parts])
            if len(contracts) > 1:
                for group in self.family.group_names:
                    members = [({c}, group) for c in sorted(contracts)]
                    self._group(contracts, column, group, members)

    def _group(self, contracts, column: str, group: str, parts: list[tuple]) -> None:
        self.pattern.group(
            self.mask(contracts, column, group),
            [self.mask(members, column, part) for members, part in parts],
        )

    def _describe_filter(self, key: tuple, contracts: frozenset[int], sets: dict) -> None:
        """A filter's set split by service, by provider, or by area (where each of its
        contracts serves one area); and the figure a filter leaves out of the wider one."""
        area, service, provider = key
        index = self.index
        splits = []
        if service is None:
            splits.append({(area, index.services[c], provider) for c in contracts})
        if provider is None:
            splits.append({(area, service, index.providers[c]) for c in contracts})
        if area is None and all(len(index.areas[c]) == 1 for c in contracts):
            splits.append({(min(index.areas[c]), service, provider) for c in contracts})
        wider = [(None, service, provider)] if area is not None else []
        wider += [(area, None, provider)] if service is not None else []
        wider += [(area, service, None)] if provider is not None else []
        for column, group in product(self.columns, self.family.group_names):
            for split in splits:
                self._group(contracts, column, group, [(sets[k], group) for k in sorted(split)])
            whole = self.mask(contracts, column, group)
            for parent in wider:
                self.pattern.protect(self.mask(sets[parent], column, group), whole)

    def _describe_contract(self, contract: int, sets: dict) -> None:
        """A contract's periods add up to its quarter (monthly returns, milestones); the
        finest filter that chooses it, less it, is protected."""
        mine = frozenset({contract})
        finest = [key for key in self.index.filters_for(contract) if None not in key[1:]]
        for group in self.family.group_names:
            cells = self._cells.get((contract, group), ())
            for quarter in QUARTERS:
                periods = sorted({period for q, period, _ in cells if q == int(quarter[1])})
                parts = [self.mask(mine, quarter, group, {period}) for period in periods]
                self.pattern.group(self.mask(mine, quarter, group), parts)
            for column in self.columns:
                alone = self.mask(mine, column, group)
                for key in finest:
                    self.pattern.protect(self.mask(sets[key], column, group), alone)


class _Hidden:
    """A kept pattern's hidden figures as places in one set of cells' masks."""

    def __init__(self, places: set[tuple[int, ...]]):
        self.places = places
        self._sizes = {len(figure) for figure in places}

    @classmethod
    def within(cls, kept: stored.Kept, pattern: Pattern, contracts: frozenset[int]) -> _Hidden:
        """The hidden figures of these contracts' cells alone, as places in the masks of
        `pattern`, which has those cells (no figure of them is made of others'). A hidden
        cell the pattern does not have (zero here) means the cells are not the ones the
        pattern was worked out from: the output is built again with every fact read."""
        places = set()
        for figure in kept.figures_within(contracts):
            found = [pattern.place(cell) for cell in figure]
            if None in found:
                raise BeyondTheSelection(kept.digest)
            places.add(tuple(sorted(found)))  # type: ignore[type-var]
        return cls(places)

    def hides(self, mask: int) -> bool:
        """Quicker than a set of masks for a few figures: no mask is built, and a figure
        with more cells than any hidden one (a wide total) is not looked for at all."""
        return mask.bit_count() in self._sizes and tuple(places_of(mask)) in self.places

    @property
    def masks(self) -> set[int]:
        return {mask_of(figure) for figure in self.places}


class SelectionFigures(Figures):
    """A family's figures for the contracts a filter chooses, read alone, with the sealed
    pattern kept under the stamps they were read under (pam.dashboards.stored).

    A provider's first view then reads its own contracts' facts, not the year's (every
    fact of each family it shows, seconds nationally). It answers exactly what the whole
    family would, but only where that is sure from these cells: a figure of the filter's
    contracts, of one contract, or of a finer filter's (all within the selection, so every
    cell of it is read), in a column and part the family publishes. Anything else raises
    BeyondTheSelection, and the output is built again with the families read in full."""

    def __init__(self, family: Family, cells: dict, index: ContractIndex, threshold: int,
                 within: frozenset[int], kept: stored.Kept):  # fmt: skip
        super().__init__(family, cells, index, kept.year_sums, threshold)
        self.within = within
        self._kept = kept
        self._hidden = _Hidden.within(kept, self.pattern, within)
        self._filter_sets_within: dict[tuple, frozenset[int] | None] = {}

    @property
    def _has_anything_to_hide(self) -> bool:
        return bool(self.pattern.threshold and self._kept.small)

    def mask(self, contracts=None, column: str = YEAR, group: str = ALL, periods=None) -> int:
        if contracts is None or not frozenset(contracts) <= self.within:
            raise BeyondTheSelection(self.family.name)
        return super().mask(contracts, column, group, periods)

    def publishes(self, contracts=None, column: str = YEAR, group: str = ALL,
                  periods=None) -> bool:  # fmt: skip
        if periods is not None or column not in self.columns:
            return False
        if group not in self.family.group_names or contracts is None:
            return False
        chosen = frozenset(contracts) & self.contracts
        if len(chosen) <= 1:
            return True
        filters = self.index.filters_for(min(chosen))
        return any(self._filter_set_within(key) == chosen for key in filters)

    def _filter_set_within(self, key: tuple) -> frozenset[int] | None:
        """A filter's contracts in the family, where they are all within the selection
        (so these cells hold them all); None where some are not."""
        if key not in self._filter_sets_within:
            matching = self.index.matching(*key)
            self._filter_sets_within[key] = (
                matching & self.contracts if matching <= self.within else None
            )
        return self._filter_sets_within[key]

    def hides(self, mask: int, published: bool = False) -> bool:
        if not self._has_anything_to_hide:
            return False
        if not published:
            raise BeyondTheSelection(self.family.name)
        if self._hidden.hides(mask):
            return True
        if is_small(self.value(mask), self.pattern.threshold):
            self._distrust("shows a small number")
        return False

    @property
    def _distrusted_as(self) -> Any:
        return _under_stamps(self._kept)


def _under_stamps(kept: stored.Kept) -> tuple[str, str]:
    """A kept pattern as read under stamps, distrusted apart from the same one read by
    its digest (that is checked again in full before it is trusted)."""
    return ("stamps", kept.digest)


def load_cells(family: Family, year: FinancialYear,
               within: frozenset[int] | None = None) -> tuple[dict, bool]:  # fmt: skip
    """{(contract, quarter, period, part): value} for the family's facts in the year (for
    the contracts `within`, if given), and whether its figures add up over the year
    (counts summed; not 'latest' or averages)."""
    columns = (ReturnFact.contract_id, ReturnFact.quarter, ReturnFact.period, ReturnFact.code,
               ReturnFact.category, ReturnFact.value, ReturnFact.aggregation)  # fmt: skip
    query = (
        select(*columns)
        .where(ReturnFact.year == year.label, ReturnFact.kind == family.kind,
               ReturnFact.code.in_(family.codes))
        .order_by(ReturnFact.contract_id, ReturnFact.period, ReturnFact.key)
    )  # fmt: skip
    if family.kind == "K":
        query = query.where(ReturnFact.breakdown.in_(("", family.breakdown)))
    if within is not None:
        query = query.where(ReturnFact.contract_id.in_(sorted(within)))
    rows = db.session.connection().execute(query).all()  # plain rows: no ORM loading
    year_sums = all(row.aggregation == "sum" for row in rows)
    if family.kind == "Q":
        return _satisfaction_cells(rows), year_sums
    if family.kind == "E":
        return {(r[0], r[1], r[2], r.category): r.value for r in rows}, year_sums
    return _measure_cells(rows), year_sums


def _measure_cells(rows) -> dict:
    """Each category is a part; what the categories leave of the total (all of it when
    no breakdown was given) is a part of its own."""
    cells: dict[tuple, Decimal] = defaultdict(Decimal)
    for contract, quarter, period, code, category, value, _ in rows:
        if category:
            cells[contract, quarter, period, (code, category)] += value
            cells[contract, quarter, period, (code, "")] -= value
        else:
            cells[contract, quarter, period, (code, "")] += value
    return {key: max(value, Decimal(0)) for key, value in cells.items()}


def _satisfaction_cells(rows) -> dict:
    """Satisfied, and the rest of those who gave feedback (responses less satisfied)."""
    answers: dict[tuple, dict[str, Decimal]] = defaultdict(dict)
    for contract, quarter, period, code, _category, value, _ in rows:
        answers[contract, quarter, period][code] = value
    cells = {}
    for key, given in answers.items():
        satisfied = given.get("satisfied", Decimal(0))
        cells[(*key, "satisfied")] = satisfied
        cells[(*key, "unsatisfied")] = max(given.get("responses", satisfied) - satisfied, 0)
    return cells


KEEP_WORKED_OUT = 64
# By their inputs: (family, threshold, year sums, every cell, the contract index).
_WORKED_OUT = Remembered(KEEP_WORKED_OUT)
# The same figures under the year's facts and contract index revisions
# (pam.returns.revisions): a warm view reads one row instead of every cell of the family.
_BY_REVISION = Remembered(KEEP_WORKED_OUT)
_INDEXES = Remembered(8)


def _worked_out(family: Family, cells: dict, index: ContractIndex, year_sums: bool,
                threshold: int, year: FinancialYear, stamps: tuple | None,
                remember: bool = True) -> Figures:  # fmt: skip
    """The family's figures, reusing a pattern already worked out from exactly the same
    facts, contracts and threshold: in this process, or (pam.dashboards.stored) by any
    process that shares the database. A pattern takes seconds to minutes, and the answer
    for the same inputs is always the same, so neither cache can be stale (a changed
    figure or contract is a different key). Not `remember`ed: made for the caller alone."""
    key = (family, threshold, year_sums, tuple(cells.items()), index.key)
    figures = _WORKED_OUT.get(key)
    if figures is not None and stamps is not None:
        figures.stamps = stamps  # the same cells and contracts, read under these too
    if figures is None:
        digest = stored.digest(family, threshold, year_sums, cells, index.key)
        figures = Figures(family, cells, index, year_sums, threshold, (digest, year.label),
                          stamps)  # fmt: skip
        if remember:
            _WORKED_OUT.put(key, figures)
    return figures


class YearPatterns:
    """The families' figures for one financial year, each loaded (one statement) and
    worked out once, whatever asks for it. `filters`: the output is for these filters
    alone (a dashboard page), so a family may be read for their contracts alone (see
    SelectionFigures); the output must be built under consistent()."""

    def __init__(self, year: FinancialYear, threshold: int, filters: Any = None):
        self.year = year
        self.threshold = threshold
        self._filters = filters
        self._families: dict[str, Figures] = {}

    @cached_property
    def stamps(self) -> tuple[str | None, ...]:
        """The year's facts revision and the contract index's (pam.returns.revisions),
        read before any fact or contract: what is kept under them was read no earlier,
        so it is never older than they say."""
        return revisions.pattern_stamps(self.year.label)

    @cached_property
    def index(self) -> ContractIndex:
        return under_revisions(_INDEXES, self.stamps, (self.year.label,),
                               lambda: ContractIndex.load(self.year))  # fmt: skip

    @cached_property
    def _within(self) -> frozenset[int] | None:
        """The contracts a family may be read for alone (None: read every one)."""
        if self._filters is None or _IN_FULL.get() or None in self.stamps:
            return None
        return self.selection(self._filters)

    def family(self, family: Family) -> Figures:
        if family.name not in self._families:
            key = (self.year.label, family, self.threshold)
            whole = None if None in self.stamps else _BY_REVISION.get((*self.stamps, *key))
            if whole is None and self._within is not None:
                whole = self._selection_figures(family, self._within)
            if whole is None:
                whole = under_revisions(_BY_REVISION, self.stamps, key,
                                        lambda: self._figures(family))  # fmt: skip
            self._families[family.name] = whole
        return self._families[family.name]

    def _selection_figures(self, family: Family, within: frozenset[int]) -> Figures | None:
        """The family read for these contracts alone, where a sealed pattern is kept
        under the stamps this output read and they held while their cells were read;
        None otherwise (the family is read in full)."""
        kept = stored.load_under(family.name, self.year.label, self.threshold, self.stamps)
        if kept is None or _DISTRUSTED.get(_under_stamps(kept)):
            return None
        if kept.small and not kept.figures:
            return None  # hides nothing, with small numbers: cannot be right
        cells, _year_sums = load_cells(family, self.year, within)
        if revisions.pattern_stamps(self.year.label) != self.stamps:
            return None  # a change fell between: these cells may not be the pattern's
        return SelectionFigures(family, cells, self.index, self.threshold, within, kept)

    def _figures(self, family: Family, remember: bool = True) -> Figures:
        cells, year_sums = load_cells(family, self.year)
        # Read again: where they have not changed since before the index and the cells
        # were read, no change fell between, and the pattern is kept under them too.
        held = revisions.pattern_stamps(self.year.label) == self.stamps
        return _worked_out(family, cells, self.index, year_sums, self.threshold, self.year,
                           self.stamps if held and None not in self.stamps else None,
                           remember)  # fmt: skip

    def worked_out_alone(self, family: Family) -> Figures:
        """The family's figures, made for the caller alone: neither this process nor this
        year's patterns hold them afterwards (see work_out_year)."""
        return self._figures(family, remember=False)

    def measure(self, code: str) -> tuple[Figures, str]:
        """A count measure's figures, and the part that is the measure's total."""
        return self.family(measure_family(code)), code

    def selection(self, filters: Any) -> frozenset[int] | None:
        """The contracts a dashboard's filters choose (None: every contract)."""
        if not filters.narrows_contracts:
            return None
        return self.index.matching(filters.area_id, filters.service_id, filters.provider_id)

    def count_hidden(self, code: str, contracts=None, column: str = YEAR, periods=None) -> bool:
        figures, group = self.measure(code)
        return figures.hidden(contracts, column, group, periods)

    def rate_hidden(self, code: str, contracts=None, column: str = YEAR, periods=None) -> bool:
        """A rate goes where a count it is built on is suppressed or has a small number in
        any of its cells (an average over contracts gives a small one's rate away)."""
        if not self.threshold:
            return False
        for base in BASES.get(code, ()):
            figures, group = self.measure(base)
            mask = figures.mask(contracts, column, group, periods)
            if figures.hidden(contracts, column, group, periods):
                return True
            if figures.pattern.small_within(mask):
                return True
        return False

    def unit_hidden(self, code: str, unit: str, contracts=None, column: str = YEAR,
                    periods=None) -> bool:  # fmt: skip
        """Whether a measure's figure is withheld: counts by the pattern, rates by their
        counts; days (an average time, not a count of people) are shown."""
        if unit == "count":
            return self.count_hidden(code, contracts, column, periods)
        if unit == "percentage":
            return self.rate_hidden(code, contracts, column, periods)
        return False


def work_out_year(year: FinancialYear, threshold: int) -> dict[str, bool]:
    """Work out (or read) every family's pattern for the year, so that no board member's
    first view pays for it: after a bulk import, say, or nightly. The patterns are kept
    when the caller's app context ends, or at stored.store_waiting(). Returns, for each
    family, whether it has small numbers to hide (a family without them needs no pattern).

    One family is held at a time: a described family holds every figure it publishes, a
    mask as wide as the family's year each (3.6 GB for equality monitoring by age
    nationally), and a process that held them all (as the server's, which works out after
    an acceptance, would have kept them) peaked at 11.7 GB. What reads the patterns next
    reads the sealed ones kept, which needs the cells but no description."""
    codes = db.session.scalars(
        select(ReturnFact.code).where(ReturnFact.year == year.label, ReturnFact.kind == "K")
        .distinct()
    )  # fmt: skip
    families = {measure_family(code) for code in codes}
    families |= {SATISFACTION, *(equality_family(name) for name in EQUALITY)}
    year_patterns = YearPatterns(year, threshold)
    small = {}
    for family in sorted(families, key=lambda family: family.name):
        figures = year_patterns.worked_out_alone(family)
        # The first question works the whole pattern out. A sealed pattern refused here
        # is worked out afresh and kept; what it answered before was another output's.
        with suppress(KeptPatternWrong):
            figures.hides(figures.mask())
        figures.keep_nothing_to_hide()
        small[family.name] = figures.pattern.has_small_cells
    return small
