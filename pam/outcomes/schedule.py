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
        periods.extend(_within_term(contract.start_on, contract.end_on,
                                    _year_periods(year, frequency)))  # fmt: skip
        year = year.next()
    return periods


def periods_in_year(contract: Contract, year: FinancialYear) -> list[Period]:
    """The contract's periods that end in the financial year: all_periods' answer for that
    year, without working out the rest of the term (a dashboard asks this about one year
    for every contract, and a contract can run for ten)."""
    framework = contract.framework
    if framework is None:
        return term_periods_in_year(contract.start_on, contract.end_on, year)
    return term_periods_in_year(contract.start_on, contract.end_on, year,
                                framework.frequency, framework.milestone_dates)  # fmt: skip


def term_periods_in_year(start_on: date, end_on: date, year: FinancialYear,
                         frequency: Frequency = Frequency.QUARTERLY,
                         milestones: list[date] | None = None) -> list[Period]:  # fmt: skip
    """periods_in_year for a term and schedule given as values: for a dashboard that reads
    them for thousands of contracts as plain columns."""
    if frequency == Frequency.MILESTONE:
        return [p for p in milestone_periods(start_on, milestones or []) if p.year == year]
    return list(_within_term(start_on, end_on, _year_periods(year, frequency)))


def _year_periods(year: FinancialYear, frequency: Frequency) -> list[Period]:
    if frequency == Frequency.ANNUAL:
        return [Period(year, "FY")]
    if frequency == Frequency.MONTHLY:
        return year.months()
    return year.quarters()


def _within_term(start_on: date, end_on: date, candidates: list[Period]):
    return (
        period for period in candidates if period.ends_on >= start_on and period.starts_on <= end_on
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
