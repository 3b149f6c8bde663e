"""A contract's reporting periods over its whole term, from its framework's schedule.

Quarterly (the default), monthly or annual periods follow the financial year; a milestone
schedule runs from the contract's start to each milestone date in turn. Every page that
lists periods (returns, targets, performance) asks here, so they always agree.
"""

from __future__ import annotations

from datetime import date, timedelta

from pam.contracts.models import Contract
from pam.core.periods import FinancialYear, Period
from pam.outcomes.models import Frequency


def all_periods(contract: Contract) -> list[Period]:
    framework = contract.framework
    if framework is None:
        return periods_on_schedule(contract, Frequency.QUARTERLY, [])
    return periods_on_schedule(contract, framework.frequency, framework.milestone_dates)


def periods_on_schedule(
    contract: Contract, frequency: Frequency, milestones: list[date]
) -> list[Period]:
    """The contract's periods under a given schedule (also to test a proposed change)."""
    if frequency == Frequency.MILESTONE:
        return milestone_periods(contract.start_on, milestones)
    periods = []
    year = FinancialYear.containing(contract.start_on)
    while year.starts_on <= contract.end_on:
        periods.extend(_within_term(contract, _year_periods(year, frequency)))
        year = year.next()
    return periods


def periods_in_year(contract: Contract, year: FinancialYear) -> list[Period]:
    """The contract's periods that end in the financial year: all_periods' answer for that
    year, without working out the rest of the term (a dashboard asks this about one year
    for every contract, and a contract can run for ten)."""
    framework = contract.framework
    frequency = framework.frequency if framework is not None else Frequency.QUARTERLY
    if frequency == Frequency.MILESTONE:
        return [period for period in all_periods(contract) if period.year == year]
    return list(_within_term(contract, _year_periods(year, frequency)))


def _year_periods(year: FinancialYear, frequency: Frequency) -> list[Period]:
    if frequency == Frequency.ANNUAL:
        return [Period(year, "FY")]
    if frequency == Frequency.MONTHLY:
        return year.months()
    return year.quarters()


def _within_term(contract: Contract, candidates: list[Period]):
    return (
        period
        for period in candidates
        if period.ends_on >= contract.start_on and period.starts_on <= contract.end_on
    )


def milestone_periods(start: date, milestones: list[date]) -> list[Period]:
    periods = []
    for milestone in sorted(milestones):
        periods.append(Period.milestone(start, milestone))
        start = milestone + timedelta(days=1)
    return periods


def ended_periods(contract: Contract, today: date) -> list[Period]:
    """The periods that have ended before today: those a return can be made for."""
    return [period for period in all_periods(contract) if period.ends_on < today]


def previous_period(contract: Contract, period: Period) -> Period | None:
    periods = all_periods(contract)
    if period in periods:
        index = periods.index(period)
        return periods[index - 1] if index > 0 else None
    return None if period.kind == "milestone" else period.previous()
