"""A filtered board page's first build in a new server process, two ways, side by side.

    python -m bench.filtered --scale 0.2

The year's patterns are worked out (or read, and sealed) first, as `flask pam
work-out-patterns` and the work-out after each acceptance leave them. Then the outcomes
and performance pages are built for one area, one service, and one area in Q2, each with
the process's caches emptied first (a new server process, or any process after a
change) and each two ways:
* "sealed": as PAM builds it, answering each published figure from the sealed pattern
  kept in the database;
* "checked in full": the way before, describing every figure each family publishes and
  checking the kept pattern against them all before reading it.
Times in milliseconds. docs/performance.md ("seventh sitting") records runs.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from datetime import date

from sqlalchemy import func, select

from bench.run import YEAR, build

TODAY = date(2026, 1, 20)


@contextmanager
def checked_in_full():
    """Figures answer nothing from a sealed pattern: each family is described first."""
    from pam.dashboards import patterns

    sealed = patterns.Figures._from_sealed
    patterns.Figures._from_sealed = lambda _figures, _mask: None
    try:
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
    return {"one area": Filters(year, area_id=area),
            "one service": Filters(year, service_id=service),
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
        sealed = first_builds(app, filters)
        with checked_in_full():
            full = first_builds(app, filters)
        for page in sealed:
            results[f"{page}, {name}"] = {
                "sealed (ms)": round(sealed[page], 1),
                "checked in full (ms)": round(full[page], 1),
                "full / sealed": round(full[page] / sealed[page], 1),
            }
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    args = parser.parse_args(argv)
    results = measure(args.scale)
    for name, figures in results.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return results


if __name__ == "__main__":
    main()
