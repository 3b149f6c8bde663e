"""The board's dashboard pages as they are kept: built once, read many times.

Each page's charts are kept by the server process that built them, and in the database
for every other (pam.dashboards.kept), under the revision stamps of everything they are
read from (pam.returns.revisions.page_stamps) and what was asked: a warm view reads one
row of stamps, not the year's figures, and draws no chart again. After a return is
accepted, the year's unfiltered pages are built ahead for the board (pam.dashboards.ahead)
so that its next view reads them. The delivery page reads the plan, which no stamp
watches, and is built every time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from pam.core.periods import FinancialYear
from pam.dashboards import kept, outcomes, performance, portfolio
from pam.dashboards.filters import Filters, filter_options
from pam.dashboards.memo import Remembered, under_revisions
from pam.returns import revisions

T = TypeVar("T")

# Pages as this process last built or read them (and the filters' choices).
_PAGES = Remembered(128)


def _kept(page: str, filters: Filters, key: tuple, build: Callable[[], T]) -> T:
    """build(), or what this process (else any process) last built for the same page,
    filters and `key` while nothing it reads has changed since."""
    year = filters.year.label
    stamps, asked = revisions.page_stamps(year), (page, filters, *key)
    return under_revisions(
        _PAGES, stamps, asked, lambda: kept.read_or_build(page, year, stamps, asked, build)
    )


def portfolio_page(filters: Filters, today: date) -> list:
    return _kept("portfolio", filters, (today,), lambda: portfolio.build(filters, today))


def performance_page(filters: Filters, today: date, threshold: int) -> tuple[list, list]:
    """(the measures to choose from, the charts)."""

    def build() -> tuple[list, list]:
        choices = performance.measure_choices(filters)
        return choices, performance.build(filters, today, choices, threshold)

    return _kept("performance", filters, (today, threshold), build)


def outcomes_page(filters: Filters, threshold: int) -> list:
    return _kept("outcomes", filters, (threshold,), lambda: outcomes.build(filters, threshold))


def filter_choices() -> dict:
    """The filters' choices, kept under the board inputs' stamp."""
    stamp = revisions.board_inputs_revision()
    return under_revisions(_PAGES, (stamp,), ("filter options",), filter_options)


def build_ahead(year: FinancialYear, today: date, threshold: int) -> None:
    """The year's unfiltered pages as the board sees them, built (or read) and kept."""
    filters = Filters(year)
    portfolio_page(filters, today)
    performance_page(filters, today, threshold)
    outcomes_page(filters, threshold)
