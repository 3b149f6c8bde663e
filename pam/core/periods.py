"""The UK public-sector financial year and its reporting periods.

A financial year runs 1 April to 31 March and is written "2025/26". Quarters: Q1 is
April to June, Q2 July to September, Q3 October to December, Q4 January to March, so a
Q2 2025/26 return covers 1 July to 30 September 2025. Periods are also monthly ("M01" is
April) or annual ("FY"), for contracts on other reporting schedules.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def as_utc(moment: datetime) -> datetime:
    """A stored moment with its zone: SQLite hands timestamps back naive, in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def today_in_uk() -> date:
    """Today's date in the UK (the server may run in UTC)."""
    return datetime.now(UK).date()


_FY_LABEL = re.compile(r"^(\d{4})/(\d{2})$")
_PERIOD_LABEL = re.compile(r"^(\d{4}/\d{2})-(Q[1-4]|M(0[1-9]|1[0-2])|FY|D\d{8}-\d{8})$")


@dataclass(frozen=True, order=True)
class FinancialYear:
    """The financial year starting 1 April of `start_year`."""

    start_year: int

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)

    @classmethod
    def parse(cls, label: str) -> FinancialYear:
        """'2025/26' -> FinancialYear(2025). ValueError with a plain message otherwise."""
        match = _FY_LABEL.match(label.strip())
        if not match or (int(match[1]) + 1) % 100 != int(match[2]):
            raise ValueError(f"'{label}' is not a financial year like 2025/26")
        return cls(int(match[1]))

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    @property
    def starts_on(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def ends_on(self) -> date:
        return date(self.start_year + 1, 3, 31)

    def next(self) -> FinancialYear:
        return FinancialYear(self.start_year + 1)

    def previous(self) -> FinancialYear:
        return FinancialYear(self.start_year - 1)

    def quarters(self) -> list[Period]:
        return [Period(self, f"Q{number}") for number in range(1, 5)]

    def months(self) -> list[Period]:
        return [Period(self, f"M{number:02d}") for number in range(1, 13)]

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period within a financial year: 'Q1'..'Q4', 'M01'..'M12', 'FY', or a
    milestone period between two dates, 'D20250701-20250930' (it belongs to the financial
    year its last day falls in)."""

    year: FinancialYear
    part: str

    @classmethod
    def parse(cls, label: str) -> Period:
        """'2025/26-Q2' -> Period. ValueError with a plain message otherwise."""
        match = _PERIOD_LABEL.match(label.strip().upper())
        if not match:
            raise ValueError(f"'{label}' is not a reporting period like 2025/26-Q2")
        period = cls(FinancialYear.parse(match[1]), match[2])
        if period.kind == "milestone":
            try:
                start, end = period.starts_on, period.ends_on
            except ValueError:
                raise ValueError(f"'{label}' has a date that does not exist") from None
            if end < start or FinancialYear.containing(end) != period.year:
                raise ValueError(f"'{label}' is not a milestone period of {period.year.label}")
        return period

    @classmethod
    def milestone(cls, starts_on: date, ends_on: date) -> Period:
        """The period from one milestone (or the contract's start) to the next."""
        part = f"D{starts_on:%Y%m%d}-{ends_on:%Y%m%d}"
        return cls(FinancialYear.containing(ends_on), part)

    @classmethod
    def quarter_containing(cls, day: date) -> Period:
        year = FinancialYear.containing(day)
        months_in = (day.month - 4) % 12
        return cls(year, f"Q{months_in // 3 + 1}")

    @property
    def label(self) -> str:
        return f"{self.year.label}-{self.part}"

    @property
    def slug(self) -> str:
        """For URLs: '2025-26-Q2'."""
        return self.label.replace("/", "-")

    @classmethod
    def from_slug(cls, slug: str) -> Period:
        return cls.parse(slug.replace("-", "/", 1))

    @property
    def kind(self) -> str:
        return {"Q": "quarter", "M": "month", "F": "year", "D": "milestone"}[self.part[0]]

    @property
    def starts_on(self) -> date:
        if self.kind == "year":
            return self.year.starts_on
        if self.kind == "milestone":
            return datetime.strptime(self.part[1:9], "%Y%m%d").date()
        first_month = self._month_offset()
        return _add_months(self.year.starts_on, first_month)

    @property
    def ends_on(self) -> date:
        if self.kind == "year":
            return self.year.ends_on
        if self.kind == "milestone":
            return datetime.strptime(self.part[10:], "%Y%m%d").date()
        length = 3 if self.kind == "quarter" else 1
        last = _add_months(self.starts_on, length - 1)
        return date(last.year, last.month, calendar.monthrange(last.year, last.month)[1])

    @property
    def name(self) -> str:
        """'Q2 2025/26 (July to September 2025)'."""
        start, end = self.starts_on, self.ends_on
        if self.kind == "year":
            return f"{self.year.label} (April {start.year} to March {end.year})"
        if self.kind == "month":
            return f"{start:%B %Y} ({self.year.label})"
        if self.kind == "milestone":
            return f"Milestone {_day(end)} ({_day(start)} to {_day(end)})"
        return f"{self.part} {self.year.label} ({start:%B} to {end:%B %Y})"

    def _month_offset(self) -> int:
        if self.kind == "quarter":
            return (int(self.part[1]) - 1) * 3
        return int(self.part[1:]) - 1

    @property
    def short_name(self) -> str:
        """For table headings: 'Q2', 'Jul', 'Year', '30 Sep'."""
        if self.kind == "quarter":
            return self.part
        if self.kind == "month":
            return f"{self.starts_on:%b}"
        if self.kind == "milestone":
            return f"{self.ends_on.day} {self.ends_on:%b}"
        return "Year"

    def next(self) -> Period:
        """The period after, on the same calendar (milestones need the contract's schedule)."""
        if self.kind == "milestone":
            raise ValueError("a milestone's neighbours come from the contract's schedule")
        if self.kind == "year":
            return Period(self.year.next(), "FY")
        periods = self.year.quarters() if self.kind == "quarter" else self.year.months()
        index = periods.index(self)
        if index + 1 < len(periods):
            return periods[index + 1]
        return Period(self.year.next(), periods[0].part)

    def previous(self) -> Period:
        if self.kind == "milestone":
            raise ValueError("a milestone's neighbours come from the contract's schedule")
        if self.kind == "year":
            return Period(self.year.previous(), "FY")
        periods = self.year.quarters() if self.kind == "quarter" else self.year.months()
        index = periods.index(self)
        if index > 0:
            return periods[index - 1]
        return Period(self.year.previous(), periods[-1].part)

    def __str__(self) -> str:
        return self.label


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@lru_cache(maxsize=4096)  # a dashboard asks it for every contract's periods of a year
def due_date(period_end: date, days: int, working_days: bool) -> date:
    """When a return for a period ending on period_end is due."""
    return add_working_days(period_end, days) if working_days else period_end + timedelta(days)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    return date(day.year + month_index // 12, month_index % 12 + 1, 1)


def add_working_days(day: date, count: int) -> date:
    """`count` working days (Monday to Friday) after `day`.

    Bank holidays are not counted out: they vary by nation and year, and a due date a
    day early is the safe side of the Compact's reasonable-notice principle.
    """
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
