"""The board's dashboard pages as they are kept: built once, read many times.

Each page's charts are kept by the server process that built them, and in the database
for every other (pam.dashboards.kept), under the revision stamps of everything they are
read from (pam.returns.revisions.page_stamps) and what was asked: a warm view reads one
row of stamps, not the year's figures, and draws no chart again. After a return is
accepted, the year's pages, unfiltered and for each area and service, are built ahead for
the board (pam.dashboards.ahead) so that its next view reads them. The delivery page
reads the plan, which no stamp watches, and is built every time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from pam.core.periods import FinancialYear
from pam.dashboards import kept, outcomes, performance, portfolio
from pam.dashboards.filters import Filters, filter_options
from pam.dashboards.memo import Remembered, under_revisions
from pam.dashboards.patterns import YearPatterns
from pam.returns import revisions

T = TypeVar("T")

# Pages as this process last built or read them (and the filters' choices): room for the
# pages build_ahead makes nationally (three for each of 43 areas and a few services), and
# the filters a process's viewers choose besides.
_PAGES = Remembered(256)


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
    """The year's pages as the board sees them, built (or read) and kept: unfiltered, for
    each area and for each service with a contract reporting in the year. A Criminal
    Justice Board reads its own area, a national commissioner a service: a page first
    built in a request reads every fact of each family it shows (seconds nationally), and
    built here once a change, by the job, no viewer waits for it. Other filters (a
    provider, an area's service) are built when first asked for."""
    for filters in filters_built_ahead(year, threshold):
        portfolio_page(filters, today)
        performance_page(filters, today, threshold)
        outcomes_page(filters, threshold)


def filters_built_ahead(year: FinancialYear, threshold: int) -> list[Filters]:
    """None; each area and each service of a contract reporting in the year."""
    index = YearPatterns(year, threshold).index
    areas = sorted(set().union(*index.areas.values()))
    services = sorted(set(index.services.values()))
    return [Filters(year), *(Filters(year, area_id=area) for area in areas),
            *(Filters(year, service_id=service) for service in services)]  # fmt: skip
