"""Small-number suppression for figures that leave the OPCC's officers.

Board views, board packs and evaluation reports never show a count from 1 to the
threshold (4 unless PAM_SUPPRESSION_THRESHOLD says otherwise): such a count could identify
a victim. Hiding it alone is not enough, because other figures add up to it or with it.

A `Pattern` decides, once, which figures of a family may be shown. Every figure of the
family is a sum of the same cells (one contract's count for one period, say), and a figure
is known by the set of non-zero cells it adds up: a service's total and the whole total,
when the service is the only one, are the same figure and get the same answer, whichever
page, pack or report shows them. Then:

* **Primary.** A figure from 1 to the threshold is suppressed.
* **Groups.** A total and the parts that add up to it (a year and its quarters, a
  breakdown and its categories, a set of contracts and its members) form a group. A group
  may not have exactly one suppressed member, or subtraction would reveal it: the smallest
  other non-zero member goes too, and so on until every group is safe.
* **Differences.** A total less one of its parts (the unfiltered figure less a filtered
  one, say) is itself a count of people: when it is a small number it must not be
  derivable, and the part goes.
* **The check.** Groups miss what several totals reveal together (the whole, less an
  area, less another contract). So every small figure, and every small difference, is
  tested exactly: if the shown figures determine it (it lies in the span of the shown
  sums over the cells nobody can read directly), one figure the working used is hidden
  too, the least telling (the smallest) first, and the test runs again. It ends, because
  each round hides more figures; hiding one at a time, rather than everything a working
  used, keeps totals in view that safety does not need hidden. A figure exposed again
  has other routes to it, so each time it takes twice as many of its working's figures
  (1, 2, 4...): a handful of rounds rather than one per route.

Zero is shown: a count of nobody identifies nobody. A figure the pattern was not told
about (an evaluation report's own period, say) is shown only if the figures already shown
give it away, so it can reveal nothing new.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from functools import cached_property

SUPPRESSED_MARK = "[c]"
SUPPRESSED_NOTE = (
    "[c] Suppressed: a count from 1 to {threshold}, or a figure that would let one be "
    "worked out, is not shown, so that no victim can be identified."
)


def is_small(value: Decimal | int | None, threshold: int) -> bool:
    return value is not None and 0 < value <= threshold


def mask_of(places: Iterable[int]) -> int:
    """The figure made of the cells at these places. A mask is as wide as its highest
    cell (a family at national scale has over 100,000), so setting bits one by one, each
    a new int of that width, costs the width per cell: here the bytes are set first and
    the int made once."""
    places = list(places)
    if len(places) <= 2:
        mask = 0
        for place in places:
            mask |= 1 << place
        return mask
    buffer = bytearray((max(places) >> 3) + 1)
    for place in places:
        buffer[place >> 3] |= 1 << (place & 7)
    return int.from_bytes(buffer, "little")


def places_of(mask: int) -> Iterable[int]:
    """The cells of a figure: the places of its set bits, lowest first."""
    if mask.bit_count() <= 16:
        while mask:
            low = mask & -mask
            yield low.bit_length() - 1
            mask ^= low
        return
    # A wide figure (a national total, say): reading the bits off the binary text is one
    # pass over the int, where peeling them off one by one is a pass per bit.
    digits = bin(mask)[:1:-1]
    place = digits.find("1")
    while place >= 0:
        yield place
        place = digits.find("1", place + 1)


class Pattern:
    """Which figures of one family may be shown. Figures are masks (ints) over the
    family's non-zero cells; `mask()` turns cells into one."""

    def __init__(self, cells: Mapping[Hashable, Decimal | int], threshold: int):
        self.threshold = threshold
        nonzero = [(key, Decimal(value)) for key, value in cells.items() if value]
        self._place = {key: index for index, (key, _) in enumerate(nonzero)}
        self._keys = [key for key, _ in nonzero]
        self._cell_values = [value for _, value in nonzero]
        # Counts are whole numbers: adding them as ints is many times quicker than as
        # Decimals, and sums are worked out for hundreds of thousands of figures.
        self._whole = [int(value) for value in self._cell_values]
        if self._whole != self._cell_values:
            self._whole = None
        self._values: dict[int, Decimal] = {0: Decimal(0)}
        # A figure's int is wide (a national total's is thousands of bits) and hashing it
        # costs its width each time, where Figures passes the same int again and again:
        # so what is described is also held by the ints' identities (held here, so an id
        # cannot come to name another int).
        self._published: set[int] = set()
        self._named: dict[int, int] = {}  # id(int) -> the int, for every int published
        self._groups: dict[tuple[int, ...], tuple[int, ...]] = {}  # by its ints' ids
        self._sums: dict[tuple[int, ...], tuple[int, ...]] = {}  # those adding up exactly
        # (total, part) pairs whose difference is protected, by their ints' identities:
        # a difference is as wide as its total (a national total's is thousands of bits),
        # and a family has millions of them, so it is only made when its value is small.
        self._protected: dict[tuple[int, int], tuple[int, int]] = {}
        self._hidden: set[int] | None = None
        self._span: _Blocks | None = None

    @property
    def size(self) -> int:
        """Its non-zero cells: what the cost of working it out grows with."""
        return len(self._keys)

    # --- describing the family ----------------------------------------------------------

    def mask(self, cells: Iterable[Hashable]) -> int:
        return mask_of(self._place[cell] for cell in cells if cell in self._place)

    def place(self, cell: Hashable) -> int | None:
        """The cell's place in the family's masks (None for a zero cell: it is in none)."""
        return self._place.get(cell)

    def cells(self, mask: int) -> list[Hashable]:
        """The keys of a figure's cells, in their places' order."""
        return [self._keys[place] for place in places_of(mask)]

    def value(self, mask: int) -> Decimal:
        if mask not in self._values:
            if self._whole is not None:
                self._values[mask] = Decimal(sum(map(self._whole.__getitem__, places_of(mask))))
            else:
                cells = map(self._cell_values.__getitem__, places_of(mask))
                self._values[mask] = sum(cells, Decimal(0))
        return self._values[mask]

    @cached_property
    def has_small_cells(self) -> bool:
        """Without a small cell no figure is small, and nothing need be hidden."""
        return any(is_small(value, self.threshold) for value in self._cell_values)

    def small_within(self, mask: int) -> bool:
        """Is any single cell of the figure a small number?"""
        return any(is_small(self._cell_values[i], self.threshold) for i in places_of(mask))

    def publish(self, *masks: int) -> None:
        named = self._named
        for mask in masks:
            if mask and id(mask) not in named:
                named[id(mask)] = mask
                self._published.add(mask)

    def group(self, total: int, parts: Iterable[int]) -> None:
        """`total` is the sum of `parts` (which do not overlap): all are published, and
        the total less any one part is protected, with that part the one to hide."""
        parts = [part for part in parts if part and part != total]
        self.publish(total, *parts)
        if not total or not parts:
            return
        group = (total, *_sorted_distinct(parts))
        key = tuple(map(id, group))
        self._groups.setdefault(key, group)
        if _adds_up(total, parts):
            self._sums.setdefault(key, group)
        for part in parts:
            self.protect(total, part)

    def protect(self, total: int, part: int) -> None:
        """The figure worked out as a published total less a published part (the part is
        the one to hide first): when it is a small number, no shown figures may
        determine it."""
        if part and (total | part) != part:  # something is left
            self._protected.setdefault((id(total), id(part)), (total, part))

    def _difference_value(self, total: int, part: int) -> Decimal:
        """The total's value less the part's: the total's is shared by all its parts'
        differences, so this adds up far fewer cells than the difference's own."""
        return self.value(total) - self.value(total & part)

    def adopt(self, hidden: set[int]) -> bool:
        """Take a pattern worked out before from exactly these figures (it is stored),
        unless it cannot be one: it names a figure this family does not publish, or
        shows a small one."""
        if not hidden <= self._published or any(
            mask not in hidden and is_small(self.value(mask), self.threshold)
            for mask in self._published
        ):
            return False
        self._hidden = set(hidden)
        self._let_go_of_the_working()
        return True

    # --- reading it ---------------------------------------------------------------------

    def hides(self, mask: int) -> bool:
        if not mask or not self.threshold or not self.has_small_cells:
            return False
        hidden = self.settled()
        if mask in self._published:
            return mask in hidden
        return not self._derivable(mask)

    def _derivable(self, mask: int) -> bool:
        """Do the shown figures already give this figure away?"""
        if self._span is None:
            self._span = _Blocks(*self._shown_rows(self._by_rank(self.settled())))
        return self._span.derivations([mask], working=False)[0] is not None

    # --- working it out -----------------------------------------------------------------

    def _order(self, mask: int) -> tuple:
        return (self.value(mask), mask.bit_count(), mask)

    def settled(self) -> set[int]:
        """The published figures the pattern hides (worked out on first asking). Not for
        two threads at once (the second would find the working let go): Figures asks
        under its lock."""
        if self._hidden is None:
            self._hidden = self._settle() if self.has_small_cells else set()
            self._let_go_of_the_working()
        return self._hidden

    def _let_go_of_the_working(self) -> None:
        """What only working the pattern out needs (the protected pairs, the groups and
        their ranks, the ints by identity) is let go once it is settled or adopted: a
        server process keeps its families' patterns, and at national scale these are
        millions of entries a family."""
        self._protected, self._groups, self._named = {}, {}, {}
        for worked_out in ("_ranked_groups", "_groups_of", "_rank_by_identity"):
            self.__dict__.pop(worked_out, None)

    def _settle(self) -> set[int]:
        small = {mask for mask in self._published if is_small(self.value(mask), self.threshold)}
        sensitive = dict.fromkeys(small, 0)
        for total, part in self._protected.values():
            if is_small(self._difference_value(total, part), self.threshold):
                sensitive.setdefault(total & ~part, part)  # the first pair names it
        # Figures are known here by their rank (see _ranks): a national total's mask is
        # thousands of bits, and hashing every hidden one again each round took the time.
        is_hidden = self._by_rank(small)
        times_exposed: dict[int, int] = {}
        # Hiding more only ever takes information away, so a figure the shown ones cannot
        # determine stays undetermined: after the first round only the figures exposed in
        # the round before need checking again.
        candidates = sensitive
        while True:
            self._spread(is_hidden)
            partners, exposed = self._exposed(is_hidden, candidates, times_exposed)
            if not exposed:
                return {mask for mask, hide in zip(self._ranked, is_hidden, strict=True) if hide}
            if not partners:  # cannot happen (a working uses shown figures): fail closed
                raise RuntimeError("a small figure is determined and nothing is left to hide")
            for rank in partners:
                is_hidden[rank] = 1
            for mask in exposed:
                times_exposed[mask] = times_exposed.get(mask, 0) + 1
            candidates = {mask: sensitive[mask] for mask in exposed}

    def _spread(self, is_hidden: bytearray) -> None:
        """Secondary suppression: no group with exactly one suppressed member. The
        groups are swept in order until a sweep changes nothing, as if every group were
        looked at each time; but only a group holding a newly hidden figure can change,
        so only those are (in this sweep if still ahead, else in the next). Every process
        must reach the same pattern, so the order is always the same."""
        groups = self._ranked_groups
        ahead, next_sweep = list(range(len(groups))), []
        queued = set(ahead)
        while ahead:
            index = heapq.heappop(ahead)
            queued.discard(index)
            group = groups[index]
            others = [rank for rank in group if not is_hidden[rank]]
            if len(group) - len(others) == 1 and others:
                chosen = min(others)  # the least telling
                is_hidden[chosen] = 1
                for other in self._groups_of[chosen]:
                    if other not in queued:
                        queued.add(other)
                        heapq.heappush(ahead if other > index else next_sweep, other)
            if not ahead:
                ahead, next_sweep = next_sweep, []

    @cached_property
    def _ranked(self) -> list[int]:
        """The published figures in the order they are chosen to be hidden: the least
        telling (the smallest) first. Asked only once the family is described."""
        return sorted(self._published, key=self._order)

    @cached_property
    def _ranks(self) -> dict[int, int]:
        """Each published figure's place in _ranked."""
        return {mask: rank for rank, mask in enumerate(self._ranked)}

    @cached_property
    def _rank_by_identity(self) -> dict[int, int]:
        """Each published figure's rank, by the identity of its int (alive as long as the
        pattern, so no other int can have it)."""
        return {id(mask): rank for rank, mask in enumerate(self._ranked)}

    @cached_property
    def _single_cell_ranks(self) -> dict[int, int]:
        """{cell: rank} of the published figures that are one cell."""
        return {mask.bit_length() - 1: rank for rank, mask in enumerate(self._ranked)
                if mask.bit_count() == 1}  # fmt: skip

    @cached_property
    def _ranked_groups(self) -> list[tuple[int, ...]]:
        """The groups (in the order of their masks) with their members' ranks."""
        ranks = self._ranks
        return [tuple(ranks[mask] for mask in group)
                for group in _sorted_distinct(self._groups.values())]  # fmt: skip

    def _by_rank(self, figures: Iterable[int]) -> bytearray:
        """The published figures given, marked by rank (1 for each, 0 for the rest)."""
        marked = bytearray(len(self._ranked))
        for figure in figures:
            marked[self._ranks[figure]] = 1
        return marked

    @cached_property
    def _ranked_sums(self) -> list[tuple[int, ...]]:
        """The groups whose parts add up exactly, with their members' ranks."""
        ranks = self._ranks
        return [tuple(ranks[mask] for mask in group) for group in self._sums.values()]

    @cached_property
    def _by_value(self) -> list[int]:
        """The ranks in the order of their masks' values (as ints): the order a check
        takes the shown figures in, so that every process names a working alike."""
        return sorted(range(len(self._ranked)), key=self._ranked.__getitem__)

    @cached_property
    def _groups_of(self) -> list[list[int]]:
        """For each rank, the places in _ranked_groups of the groups holding it."""
        groups_of: list[list[int]] = [[] for _ in self._ranked]
        for index, group in enumerate(self._ranked_groups):
            for rank in group:
                groups_of[rank].append(index)
        return groups_of

    def _shown_rows(self, is_hidden: bytearray) -> tuple[int, list[int]]:
        """The cells nobody can read off a shown figure of their own, and the shown
        figures as equations over them, less the totals whose parts are all shown: such a
        total adds nothing the parts do not say (each part strictly within it, so the
        reasoning never goes round in a circle), and leaving it out keeps a national or
        area total from joining every contract's cells into one large check."""
        everything = (1 << len(self._cell_values)) - 1
        known = mask_of(cell for cell, rank in self._single_cell_ranks.items()
                        if not is_hidden[rank])  # fmt: skip
        said_by_parts = bytearray(len(self._ranked))
        for total, *parts in self._ranked_sums:
            if not is_hidden[total] and not any(is_hidden[part] for part in parts):
                said_by_parts[total] = 1
        shown = [self._ranked[rank] for rank in self._by_value
                 if not is_hidden[rank] and not said_by_parts[rank]]  # fmt: skip
        return everything & ~known, shown

    def _exposed(self, is_hidden: bytearray, sensitive: dict[int, int],
                 times: dict[int, int]) -> tuple[set[int], set[int]]:  # fmt: skip
        """The figures to hide next, and the small figures the shown ones determine. For
        each, figures its working used: its own part first, for a difference met the
        first time; otherwise the smallest figures the working used. A figure exposed
        again has other routes to it: each time, twice as many of its working's figures
        go (1, 2, 4...), so a figure with many routes takes a few rounds, not one round
        per route (each round is a check over the whole family). The figures to hide are
        given by their ranks."""
        span = _Blocks(*self._shown_rows(is_hidden))
        order = sorted(sensitive, key=self._order)
        determined = span.derivations(order, working=False)
        exposed = [mask for mask, used in zip(order, determined, strict=True) if used is not None]
        partners, needing_working = set(), []
        for mask in exposed:
            own_part = sensitive[mask] if not times.get(mask) else 0
            own = self._ranks.get(own_part) if own_part else None
            if own is not None and not is_hidden[own]:
                partners.add(own)
            else:
                needing_working.append(mask)
        # Only these need the shown figures their working used: adding a working up is
        # most of the cost of a check, and a difference met the first time loses its part.
        for mask, used in zip(needing_working, span.derivations(needing_working), strict=True):
            how_many = 1 << min(times.get(mask, 0), 16)
            partners.update(self._partners(mask, used, span.unknown, is_hidden, how_many))
        return partners, set(exposed)

    def _partners(self, mask: int, used: list[int], unknown: int, is_hidden: bytearray,
                  how_many: int) -> list[int]:  # fmt: skip
        """The ranks of the `how_many` least telling of the shown figures the figure's
        working used and the cells they read directly."""
        cells = mask
        for total in used:
            cells |= total
        cells &= ~unknown
        # A working can use thousands of figures: they are the pattern's own ints, so they
        # are found by identity, where hashing each wide mask again would take the time.
        by_identity, single = self._rank_by_identity, self._single_cell_ranks
        candidates = set()
        for total in used:
            rank = by_identity.get(id(total))
            candidates.add(rank if rank is not None else self._ranks.get(total))
        candidates.discard(None)
        candidates.update(single[cell] for cell in places_of(cells) if cell in single)
        shown = (rank for rank in candidates if not is_hidden[rank])
        return heapq.nsmallest(how_many, shown)


def _sorted_distinct(items: Iterable) -> list:
    """The items (ints, or tuples of them) sorted, each value once: the same int passed
    twice is dropped by identity, equal ones by comparing neighbours, never hashing."""
    ordered = sorted({id(item): item for item in items}.values())
    return [item for index, item in enumerate(ordered) if not index or item != ordered[index - 1]]


def _adds_up(total: int, parts: list[int]) -> bool:
    """Are the parts disjoint, and together exactly the total?"""
    together = 0
    for part in parts:
        if together & part:
            return False
        together |= part
    return together == total


def _equations(unknown: int, shown: list[int]) -> dict[int, int]:
    """{unknown cells: the shown figure} for the shown figures that hold unknown cells;
    figures that differ only in known cells are one equation (the first one names it)."""
    rows: dict[int, int] = {}
    for mask in shown:
        if mask & unknown:
            rows.setdefault(mask & unknown, mask)
    return rows


class _Blocks:
    """The span of the shown figures, worked out block by block. Cells that no shown
    figure links (directly or through others) are independent: a figure is determined
    exactly when its cells in every block are determined by that block's figures. So
    each block is reduced on its own, and the cost follows the size of the largest block,
    not of the whole family; the answer is the same as one check over everything."""

    def __init__(self, unknown: int, shown: list[int]):
        self.unknown = unknown
        rows = _equations(unknown, shown)
        links = _Links()
        for projection in rows:
            links.join(places_of(projection))
        places: dict[int, list[int]] = {}
        for bit in places_of(unknown):
            places.setdefault(links.root(bit), []).append(bit)
        members = {root: mask_of(cells) for root, cells in places.items()}
        equations: dict[int, list[int]] = {}
        for projection, mask in rows.items():
            equations.setdefault(links.root(projection.bit_length() - 1), []).append(mask)
        self._links = links
        self._members, self._equations = members, equations
        self._spans: dict[int, _Span | None] = {}  # reduced when first asked about

    def _span(self, root: int) -> _Span | None:
        if root not in self._spans:
            equations = self._equations.get(root)
            self._spans[root] = _Span(self._members[root], equations) if equations else None
        return self._spans[root]

    def derivations(self, masks: list[int], working: bool = True) -> list[list[int] | None]:
        """As _Span.derivations: per figure, the shown figures it was worked out from."""
        pieces: dict[int, list[tuple[int, int]]] = {}  # block's root -> [(figure, cells)]
        for index, mask in enumerate(masks):
            split: dict[int, int] = {}
            for bit in places_of(mask & self.unknown):
                block = self._links.root(bit)
                split[block] = split.get(block, 0) | 1 << bit
            for block, cells in split.items():
                pieces.setdefault(block, []).append((index, cells))
        found: list[list[int] | None] = [[] for _ in masks]
        for block, wanted in pieces.items():
            span = self._span(block)
            answers = (span.derivations([cells for _, cells in wanted], working) if span
                       else [None] * len(wanted))  # fmt: skip
            for (index, _), used in zip(wanted, answers, strict=True):
                if used is None or found[index] is None:
                    found[index] = None
                else:
                    found[index] += used
        return found


class _Links:
    """Union-find over cells: which cells shown figures link together."""

    def __init__(self):
        self._parent: dict[int, int] = {}

    def root(self, cell: int) -> int:
        parent = self._parent.setdefault(cell, cell)
        while parent != self._parent[parent]:
            self._parent[parent] = self._parent[self._parent[parent]]
            parent = self._parent[parent]
        self._parent[cell] = parent
        return parent

    def join(self, cells: Iterable[int]) -> None:
        first = None
        for cell in cells:
            if first is None:
                first = self.root(cell)
            else:
                other = self.root(cell)
                if other != first:
                    self._parent[other] = first


class _Span:
    """The span of the shown figures over the unknown cells, worked out exactly in the
    integers modulo a large prime (so, but for a one-in-billions coincidence, as over the
    rationals). Each equation keeps the pivots taken from it, so that a derivation can
    name the shown figures it used (added up only when one is asked for).

    The elimination is sparse: a shown figure's equation holds few of the unknown cells
    (a family's matrix is about 0.3% filled), so each step touches only the equations
    holding the step's cell, and the next cell is the one fewest equations hold, which
    keeps the fill-in low. (A dense reduction did the same work on every cell of a
    matrix of a thousand rows, 47 times over, for one family of a 50-contract year.)"""

    def __init__(self, unknown: int, shown: list[int]):
        self.unknown = unknown
        rows = _equations(unknown, shown)
        self._names = list(rows.values())
        # an equation's cells, and the (pivot, factor) taken from it
        remaining: dict[int, tuple[dict[int, int], list[tuple[int, int]]]] = {}
        holding: dict[int, set[int]] = defaultdict(set)  # cell -> equations holding it
        for index, projection in enumerate(rows):
            remaining[index] = (dict.fromkeys(places_of(projection), 1), [])
            for cell in remaining[index][0]:
                holding[cell].add(index)
        # (cell, its equation's cells, the equation chosen, its scale, the pivots taken)
        self._pivots: list[tuple[int, dict[int, int], int, int, list[tuple[int, int]]]] = []
        self._makeups: dict[int, dict[int, int]] = {}  # a pivot -> {equation: factor}
        self._order: dict[int, int] = {}  # a pivot's cell -> its place in _pivots
        queue = [(len(equations), cell) for cell, equations in holding.items()]
        heapq.heapify(queue)
        while queue:
            count, cell = heapq.heappop(queue)
            if count != len(holding[cell]):  # the count changed since: queue it again
                if holding[cell]:
                    heapq.heappush(queue, (len(holding[cell]), cell))
                continue
            self._pivot(cell, remaining, holding)

    def _pivot(self, cell: int, remaining: dict, holding: dict) -> None:
        """Make the sparsest equation holding `cell` the pivot for it, and take the cell
        out of every other remaining equation."""
        chosen = min(holding[cell], key=lambda index: (len(remaining[index][0]), index))
        cells, taken = remaining.pop(chosen)
        for other_cell in cells:
            holding[other_cell].discard(chosen)
        inverse = pow(cells[cell], PRIME - 2, PRIME)
        cells = {c: value * inverse % PRIME for c, value in cells.items()}
        for other in list(holding[cell]):
            other_cells, other_taken = remaining[other]
            factor = other_cells[cell]
            for c, value in cells.items():
                left = (other_cells.get(c, 0) - factor * value) % PRIME
                if left:
                    other_cells[c] = left
                    holding[c].add(other)
                else:
                    other_cells.pop(c, None)
                    holding[c].discard(other)
            other_taken.append((len(self._pivots), factor))
            if not other_cells:  # it said nothing the pivots do not: set it aside
                del remaining[other]
        self._order[cell] = len(self._pivots)
        self._pivots.append((cell, cells, chosen, inverse, taken))

    def _makeup(self, steps: list[tuple[int, int]]) -> dict[int, int]:
        """{shown equation: factor} of the sum of factor times each pivot. A pivot is its
        chosen equation less the pivots taken from it, scaled: each pivot's make-up is
        added up once, from the earliest, as a derivation first needs it."""
        needed, stack = set(), [pivot for pivot, _ in steps]
        while stack:
            pivot = stack.pop()
            if pivot not in self._makeups and pivot not in needed:
                needed.add(pivot)
                stack.extend(earlier for earlier, _ in self._pivots[pivot][4])
        for pivot in sorted(needed):
            _cell, _cells, chosen, inverse, taken = self._pivots[pivot]
            makeup = {chosen: 1}
            for earlier, factor in taken:
                _add(makeup, self._makeups[earlier], -factor)
            self._makeups[pivot] = {n: value * inverse % PRIME for n, value in makeup.items()}
        total: dict[int, int] = {}
        for pivot, factor in steps:
            _add(total, self._makeups[pivot], factor)
        return total

    def derivations(self, masks: list[int], working: bool = True) -> list[list[int] | None]:
        """For each figure, the shown figures whose combination gives its unknown cells,
        or None when they cannot (a figure with no unknown cells needs none). The
        combination is only added up for a figure that is determined, and only with
        `working` (without it a determined figure gets []): for the others (most of them,
        once the pattern is nearly settled) it would be wasted work."""
        found: list[list[int] | None] = []
        for mask in masks:
            residual, steps = self._reduce(mask)
            if residual:
                found.append(None)
            elif not working:
                found.append([])
            else:
                found.append([self._names[n] for n in sorted(self._makeup(steps))])
        return found

    def _reduce(self, mask: int) -> tuple[dict[int, int], list[tuple[int, int]]]:
        """The figure less the pivots' equations, in the order they were chosen (each
        holds none of the earlier pivots' cells, so a cell once cleared stays clear):
        what is left, and each pivot taken away with its factor."""
        cells = dict.fromkeys(places_of(mask & self.unknown), 1)
        steps: list[tuple[int, int]] = []
        queue = [self._order[cell] for cell in cells if cell in self._order]
        heapq.heapify(queue)
        while queue:
            pivot = heapq.heappop(queue)
            cell, pivot_cells = self._pivots[pivot][:2]
            factor = cells.get(cell)
            if not factor:
                continue
            for c, value in pivot_cells.items():
                left = (cells.get(c, 0) - factor * value) % PRIME
                if not left:
                    cells.pop(c, None)
                    continue
                if c not in cells and c in self._order:
                    heapq.heappush(queue, self._order[c])
                cells[c] = left
            steps.append((pivot, factor))
        return cells, steps


def _add(target: dict[int, int], source: dict[int, int], factor: int) -> None:
    """target += factor * source, modulo PRIME, keeping only non-zero entries."""
    for key, value in source.items():
        total = (target.get(key, 0) + factor * value) % PRIME
        if total:
            target[key] = total
        else:
            target.pop(key, None)


PRIME = 2_147_483_647  # 2**31 - 1
