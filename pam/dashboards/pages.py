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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from flask import current_app, has_request_context

from pam.audit.models import utcnow
from pam.core.periods import FinancialYear
from pam.dashboards import ahead, kept, outcomes, performance, portfolio
from pam.dashboards.filters import Filters, filter_options
from pam.dashboards.memo import Remembered, under_revisions
from pam.dashboards.patterns import (
    YearPatterns,
    built_withholding,
    built_without_working_out,
)
from pam.returns import revisions

T = TypeVar("T")

# Pages as this process last built or read them (and the filters' choices): room for the
# pages build_ahead makes nationally (three for each of 43 areas and a few services), and
# the filters a process's viewers choose besides.
_PAGES = Remembered(256)


@dataclass(frozen=True)
class Shown(Generic[T]):
    """A page as it is shown: its charts, and when their figures were read if they are
    not the figures as they stand (None: they are), or whether figures that need their
    small numbers checked again are withheld until they have been."""

    value: T
    as_at: datetime | None = None
    withheld: bool = False


def _kept(page: str, filters: Filters, build: Callable[[], T], today: date | None = None,
          threshold: int = 0) -> Shown[T]:  # fmt: skip
    """build(), or what this process (else any process) last built for the same page,
    filters, day and threshold while nothing it reads has changed since.

    After a change, a suppressed page whose build would have to work a pattern out for a
    family larger than PAM_WORK_OUT_IN_REQUEST_CELLS (minutes for a national year, longer
    than a server lets a request run) is not built in the request: the newest page kept
    of it is shown instead, saying when its figures were read; or, for a page never built
    before, the page with the figures that need the pattern withheld. Either way the year
    is queued to be worked out (pam.dashboards.ahead), after which the page is built from
    the kept patterns."""
    year = filters.year.label
    read_at = utcnow()  # before the stamps: a page built holds every change before it
    stamps, asked = revisions.page_stamps(year), (page, filters, today, threshold)
    remembered = None if None in stamps else _PAGES.get((*stamps, *asked))
    if remembered is not None:
        return Shown(remembered)
    value = kept.read(stamps, asked)
    if value is None:
        if not threshold or not has_request_context():  # no viewer waits: the job
            value = build()
        else:
            shown = _built_in_the_request(build, (page, filters, threshold))
            if shown.as_at or shown.withheld:
                ahead.work_out_after_this_request(filters.year)
                return shown
            value = shown.value
        kept.keep(page, year, stamps, asked, (page, filters, threshold), value, read_at)
    if None not in stamps:
        _PAGES.put((*stamps, *asked), value)
    return Shown(value)


def _built_in_the_request(build: Callable[[], T], same_page: tuple) -> Shown[T]:
    """The page built without working out a family's pattern larger than the request may
    (PAM_WORK_OUT_IN_REQUEST_CELLS); where it would have to, the newest page kept of the
    same page, filters and threshold, and when its figures were read; or, where none is
    (a filter nobody viewed before), the page with every figure whose pattern is not
    worked out withheld. Neither of those is the page as the figures stand."""
    up_to = current_app.config["PAM_WORK_OUT_IN_REQUEST_CELLS"]
    older = kept.newest_of(same_page)
    if older is not None:
        value = built_without_working_out(build, up_to)
        if value is not None:
            return Shown(value)
        shown = older.read()
        if shown is not None:
            return Shown(shown, older.built_at)
    value, withheld = built_withholding(build, up_to)
    return Shown(value, withheld=bool(withheld))


def portfolio_page(filters: Filters, today: date) -> Shown[list]:
    return _kept("portfolio", filters, lambda: portfolio.build(filters, today), today)


def performance_page(filters: Filters, today: date, threshold: int) -> Shown[tuple[list, list]]:
    """(the measures to choose from, the charts)."""

    def build() -> tuple[list, list]:
        choices = performance.measure_choices(filters)
        return choices, performance.build(filters, today, choices, threshold)

    return _kept("performance", filters, build, today, threshold)


def outcomes_page(filters: Filters, threshold: int) -> Shown[list]:
    return _kept("outcomes", filters, lambda: outcomes.build(filters, threshold), None,
                 threshold)  # fmt: skip


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
