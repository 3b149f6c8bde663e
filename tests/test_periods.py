"""The financial year and its periods, as DOMAIN.md defines them."""

from datetime import date

import pytest

from pam.core.periods import FinancialYear, Period, add_working_days


def test_a_q2_return_covers_july_to_september():
    q2 = Period.parse("2025/26-Q2")
    assert (q2.starts_on, q2.ends_on) == (date(2025, 7, 1), date(2025, 9, 30))
    assert q2.name == "Q2 2025/26 (July to September 2025)"


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2025, 4, 1), "2025/26-Q1"),
        (date(2025, 6, 30), "2025/26-Q1"),
        (date(2025, 12, 31), "2025/26-Q3"),
        (date(2026, 1, 1), "2025/26-Q4"),
        (date(2026, 3, 31), "2025/26-Q4"),
        (date(2026, 4, 1), "2026/27-Q1"),
    ],
)
def test_the_quarter_containing_a_day(day, label):
    assert Period.quarter_containing(day).label == label


def test_q4_runs_january_to_march_of_the_next_calendar_year():
    q4 = Period.parse("2025/26-Q4")
    assert (q4.starts_on, q4.ends_on) == (date(2026, 1, 1), date(2026, 3, 31))
    assert q4.next().label == "2026/27-Q1"
    assert q4.next().previous() == q4


def test_months_and_years():
    assert Period.parse("2025/26-M12").ends_on == date(2026, 3, 31)
    assert Period.parse("2023/24-M11").ends_on == date(2024, 2, 29)  # a leap year
    year = Period.parse("2025/26-FY")
    assert (year.starts_on, year.ends_on) == (date(2025, 4, 1), date(2026, 3, 31))
    assert FinancialYear.containing(date(2026, 3, 31)).label == "2025/26"
    assert FinancialYear(1999).label == "1999/00"


@pytest.mark.parametrize("label", ["2025/27-Q1", "2025-Q1", "2025/26-Q5", "2025/26-M13", "", "Q2"])
def test_nonsense_periods_are_refused_plainly(label):
    with pytest.raises(ValueError, match="is not a"):
        Period.parse(label)


def test_working_days_skip_weekends():
    # Tuesday 30 September 2025 + 15 working days = Tuesday 21 October 2025
    assert add_working_days(date(2025, 9, 30), 15) == date(2025, 10, 21)
    assert add_working_days(date(2025, 10, 3), 1) == date(2025, 10, 6)  # Friday -> Monday


def test_milestone_periods_carry_their_dates():
    period = Period.parse("2025/26-D20250401-20250930")
    assert (period.starts_on, period.ends_on) == (date(2025, 4, 1), date(2025, 9, 30))
    assert period.kind == "milestone" and period.short_name == "30 Sep"
    assert Period.from_slug(period.slug) == period
    for bad in ("2025/26-D20250931-20251030", "2024/25-D20250401-20250930"):
        with pytest.raises(ValueError):
            Period.parse(bad)


@pytest.mark.parametrize("frequency", ["quarterly", "monthly", "annual", "milestone", None])
def test_a_years_periods_are_those_of_the_whole_term_that_end_in_it(frequency):
    """periods_in_year (what a dashboard asks for each contract) gives exactly the periods
    of all_periods that end in the year, for every schedule and a term that starts and
    ends part-way through a year."""
    from pam.contracts.models import Contract
    from pam.outcomes.models import Frequency, OutcomeFramework
    from pam.outcomes.schedule import all_periods, periods_in_year

    contract = Contract(start_on=date(2024, 8, 15), end_on=date(2027, 5, 31))
    if frequency:
        contract.framework = OutcomeFramework(frequency=Frequency(frequency))
        if frequency == "milestone":
            contract.framework.milestones = ["2025-02-28", "2026-09-30", "2027-05-31"]
    every = all_periods(contract)
    assert every
    for label in ("2023/24", "2024/25", "2025/26", "2026/27", "2027/28", "2028/29"):
        year = FinancialYear.parse(label)
        assert periods_in_year(contract, year) == [p for p in every if p.year == year], label
