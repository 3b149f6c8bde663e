"""How a measure's figures combine, in one place.

Over one contract's periods a measure combines by its dictionary aggregation: summed,
averaged or the latest (pam.outcomes.rag.aggregate, as on the contract's own page). Across
contracts in the same period, counts and money add up and percentages and days are
averaged, whatever the aggregation over time: two contracts' latest counts of volunteers
are still added together.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, func

from pam.outcomes.models import Aggregation, Unit
from pam.outcomes.rag import aggregate

ADDS_UP = (Unit.COUNT.value, Unit.MONEY.value)


def across_contracts(unit: str) -> Aggregation:
    return Aggregation.SUM if unit in ADDS_UP else Aggregation.AVERAGE


def sql_across_contracts(unit: str, column: Any) -> Any:
    """The SQL aggregate that combines a column of this unit across contracts."""
    return func.sum(column) if across_contracts(unit) == Aggregation.SUM else func.avg(column)


def sql_by_unit(unit: Any, column: Any) -> Any:
    """The same, for a query grouped by a unit column (several measures at once)."""
    return case((unit.in_(ADDS_UP), func.sum(column)), else_=func.avg(column))


def combine(values: list[Decimal], unit: str) -> Decimal | None:
    """One period's figures from several contracts."""
    return aggregate(values, across_contracts(unit))


def over_periods(values: list[Decimal], aggregation: str) -> Decimal | None:
    """One contract's figures over several periods, in order."""
    return aggregate(values, Aggregation(aggregation))
