"""Small-number suppression for figures that leave the OPCC's officers.

Board views, board packs and public pages never show a count from 1 to the threshold
(4 unless PAM_SUPPRESSION_THRESHOLD says otherwise): such a count could identify a
victim. Suppressing it alone is not enough, so three secondary rules follow:

* **Totals.** Figures that add up to a total form a group (a row and its total, a year's
  quarters and the year, a breakdown and its measure). A group may not have exactly one
  suppressed member, or subtraction would reveal it; the smallest other non-zero member
  is suppressed too, and so on until every group is safe (a member can sit in several
  groups: a table's cell is in its row and its column).
* **Filters.** A filtered figure, shown beside the unfiltered one anyone can see, reveals
  their difference: when that difference (the complement) is a small number, the
  filtered figure is suppressed.
* **Rates.** A rate built on a suppressed count is suppressed.

Zero is shown: a count of nobody identifies nobody. Officers see the unsuppressed
figures inside the portal; everything else goes through here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

SUPPRESSED_MARK = "[c]"
SUPPRESSED_NOTE = (
    "[c] Suppressed: a count from 1 to {threshold}, or a figure that would let one be "
    "worked out, is not shown, so that no victim can be identified."
)


def is_small(value: Decimal | int | None, threshold: int) -> bool:
    return value is not None and 0 < value <= threshold


@dataclass
class Suppression:
    """Which of a set of figures may be shown, and why the others may not."""

    threshold: int
    suppressed: set[Hashable] = field(default_factory=set)

    def hides(self, key: Hashable) -> bool:
        return key in self.suppressed

    def shown(self, key: Hashable, value: Decimal | int | None) -> Decimal | int | None:
        """The value to publish: None where it is suppressed."""
        return None if key in self.suppressed else value


def suppress(
    values: dict[Hashable, Decimal | int | None],
    groups: Iterable[Iterable[Hashable]] = (),
    threshold: int = 4,
    complements: dict[Hashable, Decimal | int | None] | None = None,
) -> Suppression:
    """Primary suppression of small values (and of values whose complement is small),
    then secondary suppression until no group has exactly one suppressed member."""
    result = Suppression(threshold)
    result.suppressed = {key for key, value in values.items() if is_small(value, threshold)}
    for key, complement in (complements or {}).items():
        if key in values and is_small(complement, threshold):
            result.suppressed.add(key)
    group_list = [[key for key in group if key in values] for group in groups]
    changed = True
    while changed:
        changed = False
        for group in group_list:
            hidden = [key for key in group if key in result.suppressed]
            if len(hidden) != 1:
                continue
            partner = _partner(group, values, result.suppressed)
            if partner is not None:
                result.suppressed.add(partner)
                changed = True
    return result


def _partner(group: list[Hashable], values: dict, suppressed: set) -> Hashable | None:
    """The member to suppress beside a lone suppressed one: the smallest non-zero shown
    member (hiding a zero protects nothing, as zeros are plain to see)."""
    candidates = [key for key in group if key not in suppressed and values[key] not in (None, 0)]
    if not candidates:
        return None
    return min(candidates, key=lambda key: (values[key], str(key)))


def rate(
    numerator: Decimal | int | None,
    denominator: Decimal | int | None,
    *,
    hidden: bool = False,
) -> Decimal | None:
    """A percentage to one decimal place; None when it is built on a suppressed count
    (hidden) or has no denominator."""
    if hidden or numerator is None or not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"))
