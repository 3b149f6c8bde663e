"""Red, amber, green: how an actual compares with its target.

Green is on or better than target. Amber is worse, but within the tolerance: for a
higher-is-better measure, at least (100 - tolerance)% of the target; for lower-is-better,
at most (100 + tolerance)% of it. Red is worse than that. No target, or no actual, has no
RAG (None), which the pages show as "Not rated" rather than guessing.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pam.outcomes.models import Aggregation, Direction


class Rag(enum.StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def rag_status(
    actual: Decimal | None,
    target: Decimal | None,
    direction: Direction,
    tolerance_percent: Decimal,
) -> Rag | None:
    if actual is None or target is None:
        return None
    share = Decimal(tolerance_percent) / Decimal(100)
    if direction == Direction.HIGHER:
        if actual >= target:
            return Rag.GREEN
        return Rag.AMBER if actual >= target * (1 - share) else Rag.RED
    if actual <= target:
        return Rag.GREEN
    return Rag.AMBER if actual <= target * (1 + share) else Rag.RED


def aggregate(values: list[Decimal], aggregation: Aggregation) -> Decimal | None:
    """Combine period figures over the year: sum (counts), average or latest (rates)."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    if aggregation == Aggregation.SUM:
        return sum(present, Decimal(0))
    if aggregation == Aggregation.AVERAGE:
        return (sum(present, Decimal(0)) / len(present)).quantize(Decimal("0.01"))
    return present[-1]
