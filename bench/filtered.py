"""A filtered board page's first build in a new server process, three ways, side by side.

    python -m bench.filtered --scale 0.2

The year's patterns are worked out (or read, and sealed) first, as `flask pam
work-out-patterns` and the work-out after each acceptance leave them. Then the outcomes
and performance pages are built for one area, one service, one provider (the one with
most contracts) and one area in Q2, each with the process's caches emptied first (a new
server process, or any process after a change) and each three ways:
* "own contracts": as PAM builds it, reading the facts of the filter's contracts alone
  with the sealed pattern kept under the year's stamps (pam.dashboards.patterns.
  SelectionFigures);
* "sealed": reading every fact of each family, and answering each published figure from
  the sealed pattern kept in the database (the way of the seventh to ninth sittings);
* "checked in full": describing every figure each family publishes and checking the
  kept pattern against them all before reading it (the way before).
Times in milliseconds. docs/performance.md ("seventh" and "tenth sitting") records runs.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from datetime import date

from sqlalchemy import func, select

from bench.run import YEAR, build, print_ways

TODAY = date(2026, 1, 20)


@contextmanager
def every_fact_read():
    """Each family is read in full, never for the filter's contracts alone."""
    from pam.dashboards import patterns

    selection = patterns.YearPatterns._selection_figures
    patterns.YearPatterns._selection_figures = lambda *_args: None
    try:
        yield
    finally:
        patterns.YearPatterns._selection_figures = selection


@contextmanager
def checked_in_full():
    """Figures answer nothing from a sealed pattern: each family is read in full and
    described first."""
    from pam.dashboards import patterns

    sealed = patterns.Figures._from_sealed
    patterns.Figures._from_sealed = lambda _figures, _mask: None
    try:
        with every_fact_read():
            yield
    finally:
        patterns.Figures._from_sealed = sealed


def _busiest(column) -> int:
    from pam.extensions import db

    return db.session.scalar(
        select(column).group_by(column).order_by(func.count().desc(), column).limit(1)
    )


def chosen_filters() -> dict:
    from pam.contracts.models import Contract, contract_areas
    from pam.core.periods import FinancialYear
    from pam.dashboards.filters import Filters

    year = FinancialYear.parse(YEAR)
    area, service = _busiest(contract_areas.c.area_id), _busiest(Contract.service_category_id)
    provider = _busiest(Contract.provider_id)
    return {"one area": Filters(year, area_id=area),
            "one service": Filters(year, service_id=service),
            "one provider": Filters(year, provider_id=provider),
            "one area in Q2": Filters(year, quarter=2, area_id=area)}  # fmt: skip


def first_builds(app, filters) -> dict[str, float]:
    """The outcomes and performance pages for `filters`, each built as a new process
    would (ms)."""
    from pam.dashboards import memo, outcomes, performance
    from pam.dashboards.filters import Filters

    times = {}
    with app.app_context():
        choices = performance.measure_choices(Filters(filters.year))
    pages = {"outcomes": lambda: outcomes.build(filters, 4),
             "performance": lambda: performance.build(filters, TODAY, choices, 4)}  # fmt: skip
    for page, make in pages.items():
        with app.app_context():
            memo.forget_this_process()
            started = time.perf_counter()
            make()
            times[page] = (time.perf_counter() - started) * 1000
    return times


def measure(scale: float) -> dict[str, dict[str, float]]:
    from pam.cli import _work_out_patterns
    from pam.core.periods import FinancialYear

    app = build(scale, f"{scale:g}".replace(".", "_"), False, print)
    with app.app_context():
        print("  working the year's patterns out (or reading and sealing them)")
        _work_out_patterns(FinancialYear.parse(YEAR))
        chosen = chosen_filters()
    results: dict[str, dict[str, float]] = {}
    for name, filters in chosen.items():
        own = first_builds(app, filters)
        with every_fact_read():
            sealed = first_builds(app, filters)
        with checked_in_full():
            full = first_builds(app, filters)
        for page in sealed:
            results[f"{page}, {name}"] = {
                "own contracts (ms)": round(own[page], 1),
                "sealed (ms)": round(sealed[page], 1),
                "checked in full (ms)": round(full[page], 1),
                "sealed / own": round(sealed[page] / own[page], 1),
                "full / sealed": round(full[page] / sealed[page], 1),
            }
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    args = parser.parse_args(argv)
    return print_ways(measure(args.scale))


if __name__ == "__main__":
    main()
