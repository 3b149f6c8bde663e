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
  each round hides one more figure; hiding one at a time, rather than everything a
  working used, keeps totals in view that safety does not need hidden.

Zero is shown: a count of nobody identifies nobody. A figure the pattern was not told
about (an evaluation report's own period, say) is shown only if the figures already shown
give it away, so it can reveal nothing new.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from functools import cached_property

import numpy

SUPPRESSED_MARK = "[c]"
SUPPRESSED_NOTE = (
    "[c] Suppressed: a count from 1 to {threshold}, or a figure that would let one be "
    "worked out, is not shown, so that no victim can be identified."
)


def is_small(value: Decimal | int | None, threshold: int) -> bool:
    return value is not None and 0 < value <= threshold


def _bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class Pattern:
    """Which figures of one family may be shown. Figures are masks (ints) over the
    family's non-zero cells; `mask()` turns cells into one."""

    def __init__(self, cells: Mapping[Hashable, Decimal | int], threshold: int):
        self.threshold = threshold
        nonzero = [(key, Decimal(value)) for key, value in cells.items() if value]
        self._bit = {key: 1 << index for index, (key, _) in enumerate(nonzero)}
        self._cell_values = [value for _, value in nonzero]
        self._values: dict[int, Decimal] = {0: Decimal(0)}
        self._published: set[int] = set()
        self._groups: set[tuple[int, ...]] = set()
        self._protected: dict[int, int] = {}  # a difference -> the part to hide first
        self._hidden: set[int] | None = None
        self._span: _Span | None = None

    # --- describing the family ----------------------------------------------------------

    def mask(self, cells: Iterable[Hashable]) -> int:
        mask = 0
        for cell in cells:
            mask |= self._bit.get(cell, 0)
        return mask

    def value(self, mask: int) -> Decimal:
        if mask not in self._values:
            self._values[mask] = sum((self._cell_values[i] for i in _bits(mask)), Decimal(0))
        return self._values[mask]

    @cached_property
    def has_small_cells(self) -> bool:
        """Without a small cell no figure is small, and nothing need be hidden."""
        return any(is_small(value, self.threshold) for value in self._cell_values)

    def small_within(self, mask: int) -> bool:
        """Is any single cell of the figure a small number?"""
        return any(is_small(self._cell_values[i], self.threshold) for i in _bits(mask))

    def publish(self, *masks: int) -> None:
        self._published.update(mask for mask in masks if mask)

    def group(self, total: int, parts: Iterable[int]) -> None:
        """`total` is the sum of `parts` (which do not overlap): all are published, and
        the total less any one part is protected, with that part the one to hide."""
        parts = [part for part in parts if part and part != total]
        self.publish(total, *parts)
        if not total or not parts:
            return
        self._groups.add((total, *sorted(set(parts))))
        for part in parts:
            self.protect(total & ~part, part)

    def protect(self, difference: int, part: int) -> None:
        """A figure worked out as a published total less a published part: when it is a
        small number, no shown figures may determine it."""
        if difference and part:
            self._protected.setdefault(difference, part)

    # --- reading it ---------------------------------------------------------------------

    def hides(self, mask: int) -> bool:
        if not mask or not self.threshold or not self.has_small_cells:
            return False
        hidden = self._settled()
        if mask in self._published:
            return mask in hidden
        return not self._derivable(mask)

    def _derivable(self, mask: int) -> bool:
        """Do the shown figures already give this figure away?"""
        if self._span is None:
            self._span = _Span(*self._shown_rows(self._settled()))
        return self._span.derivations([mask])[0] is not None

    # --- working it out -----------------------------------------------------------------

    def _order(self, mask: int) -> tuple:
        return (self.value(mask), mask.bit_count(), mask)

    def _settled(self) -> set[int]:
        if self._hidden is None:
            self._hidden = self._settle() if self.has_small_cells else set()
        return self._hidden

    def _settle(self) -> set[int]:
        small = {mask for mask in self._published if is_small(self.value(mask), self.threshold)}
        sensitive = dict.fromkeys(small, 0)
        for difference, part in self._protected.items():
            if is_small(self.value(difference), self.threshold):
                sensitive.setdefault(difference, part)
        hidden = set(small)
        exposed_before: set[int] = set()
        while True:
            self._spread(hidden)
            partners, exposed = self._exposed(hidden, sensitive, exposed_before)
            if not partners:
                return hidden
            hidden |= partners
            exposed_before |= exposed

    def _spread(self, hidden: set[int]) -> None:
        """Secondary suppression: no group with exactly one suppressed member."""
        groups = sorted(self._groups)
        changed = True
        while changed:
            changed = False
            for group in groups:
                suppressed = [mask for mask in group if mask in hidden]
                if len(suppressed) != 1:
                    continue
                others = [mask for mask in group if mask not in hidden]
                if others:
                    hidden.add(min(others, key=self._order))
                    changed = True

    def _shown_rows(self, hidden: set[int]) -> tuple[int, list[int]]:
        """The cells nobody can read off a shown figure of their own, and the shown
        figures as equations over them."""
        everything = (1 << len(self._cell_values)) - 1
        known = 0
        for mask in self._published:
            if mask not in hidden and mask.bit_count() == 1:
                known |= mask
        shown = sorted(mask for mask in self._published if mask not in hidden)
        return everything & ~known, shown

    def _exposed(self, hidden: set[int], sensitive: dict[int, int], before: set[int]):
        """The figures to hide next, and the small figures the shown ones determine. For
        each, one figure its working used: its own part first, for a difference met the
        first time; otherwise the smallest figure the working used."""
        span = _Span(*self._shown_rows(hidden))
        order = sorted(sensitive, key=self._order)
        partners, exposed = set(), set()
        for mask, used in zip(order, span.derivations(order), strict=True):
            if used is None:
                continue
            exposed.add(mask)
            own_part = 0 if mask in before else sensitive[mask]
            partners.add(self._partner(mask, own_part, used, span.unknown, hidden))
        return partners - {None}, exposed

    def _partner(self, mask: int, part: int, used: list[int], unknown: int, hidden: set[int]):
        if part and part not in hidden:
            return part
        cells = mask & ~unknown
        for total in used:
            cells |= total & ~unknown
        candidates = set(used) | {1 << bit for bit in _bits(cells)} & self._published
        return min(candidates - hidden, key=self._order, default=None)


class _Span:
    """The span of the shown figures over the unknown cells, worked out exactly in the
    integers modulo a large prime (so, but for a one-in-billions coincidence, as over the
    rationals), vectorised with numpy. Each row carries its make-up, so that a derivation
    names the shown figures it used."""

    def __init__(self, unknown: int, shown: list[int]):
        self.unknown = unknown
        self._columns = {bit: index for index, bit in enumerate(_bits(unknown))}
        rows = {}  # figures that differ only in known cells are one equation
        for mask in shown:
            if mask & unknown:
                rows.setdefault(mask & unknown, mask)
        self._names = list(rows.values())
        width, height = len(self._columns), len(self._names)
        matrix = numpy.zeros((height, width + height), dtype=numpy.int64)
        for index, mask in enumerate(self._names):
            matrix[index, self._vector(mask)] = 1
            matrix[index, width + index] = 1
        self._pivots, self._rows = _echelon(matrix, width)

    def _vector(self, mask: int) -> list[int]:
        return [self._columns[bit] for bit in _bits(mask & self.unknown)]

    def derivations(self, masks: list[int]) -> list[list[int] | None]:
        """For each figure, the shown figures whose combination gives its unknown cells,
        or None when they cannot (a figure with no unknown cells needs none)."""
        width = len(self._columns)
        vectors = numpy.zeros((len(masks), width), dtype=numpy.int64)
        for index, mask in enumerate(masks):
            vectors[index, self._vector(mask)] = 1
        chosen = vectors[:, self._pivots]  # 0 or 1, so the products below stay in range
        residual = (vectors - chosen @ self._rows[:, :width]) % PRIME
        makeup = (chosen @ self._rows[:, width:]) % PRIME
        return [
            None if residual[index].any() else [self._names[i] for i in numpy.flatnonzero(row)]
            for index, row in enumerate(makeup)
        ]


PRIME = 2_147_483_647  # 2**31 - 1: the product of two residues fits in an int64


def _echelon(matrix: numpy.ndarray, width: int) -> tuple[list[int], numpy.ndarray]:
    """Reduced row echelon form, modulo PRIME, of the first `width` columns (the others
    ride along): the pivot columns and the rows that have them."""
    pivots: list[int] = []
    row = 0
    for column in range(width):
        if row == len(matrix):
            break
        below = numpy.flatnonzero(matrix[row:, column])
        if not len(below):
            continue
        top = row + int(below[0])
        matrix[[row, top]] = matrix[[top, row]]
        matrix[row] = matrix[row] * pow(int(matrix[row, column]), PRIME - 2, PRIME) % PRIME
        factors = matrix[:, column].copy()
        factors[row] = 0
        others = numpy.flatnonzero(factors)
        matrix[others] = (matrix[others] - factors[others, None] * matrix[row] % PRIME) % PRIME
        pivots.append(column)
        row += 1
    return pivots, matrix[:row]
