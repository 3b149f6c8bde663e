"""The outcomes-for-victims dashboard: people supported, restorative processes completed,
satisfaction and cope-and-recover rates, referral sources and equality monitoring.

These are counts of people. Every figure, and whether it is suppressed, comes from the
year's suppression patterns (pam.dashboards.patterns): one pattern per family of figures,
worked out for every contract, quarter and filter at once, so a quarter, a filter, the
performance page, the board pack or an evaluation report never shows what another hides.
OPCC officers (threshold 0) see every figure.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from pam.contracts.models import Contract
from pam.dashboards.charts import SUPPRESSED, Chart, DataTable, bar_figure, line_figure
from pam.dashboards.filters import Filters
from pam.dashboards.patterns import (
    ALL,
    BASES,
    CATEGORIES,
    COLUMNS,
    PROCESSES,
    REFERRALS,
    SATISFACTION,
    YEAR,
    Family,
    Figures,
    YearPatterns,
    consistent,
    equality_family,
)
from pam.extensions import db
from pam.outcomes.models import BREAKDOWNS
from pam.returns.layout import EQUALITY, slug
from pam.returns.models import ReturnFact

PEOPLE = {"VS02": "Victims supported", "RJ04": "Victims in a direct restorative process",
          "RJ05": "Victims in an indirect restorative process"}  # fmt: skip
RATE_NAMES = {
    "RJ09": "Victims better able to cope and recover (RJ)",
    "VS03": "Victims with improved cope and recover outcomes (victims' services)",
}


@consistent
def build(filters: Filters, threshold: int, patterns: YearPatterns | None = None) -> list[Chart]:
    """threshold 0 shows every figure (an officer's view). The board pack passes the
    patterns it already worked out for the year."""
    patterns = patterns or YearPatterns(filters.year, threshold, filters)
    chosen = patterns.selection(filters)
    return [
        people(filters, patterns, chosen),
        processes(filters, patterns, chosen),
        satisfaction(filters, patterns, chosen),
        recovery(filters, patterns, chosen),
        referral_sources(filters, patterns, chosen),
        equality(filters, patterns, chosen),
    ]


def _columns(filters: Filters) -> list[str]:
    return [f"Q{filters.quarter}"] if filters.quarter else list(COLUMNS)


def _cells(figures: Figures, contracts, group: str, columns: list[str]) -> list[Any]:
    """A row of counts: [c] where the year's pattern suppresses the figure; no figure
    for a year total of something that does not add up over the year."""
    cells: list[Any] = []
    for column in columns:
        if column not in figures.columns:
            cells.append(None)
            continue
        value, hidden = figures.figure(contracts, column, group)
        cells.append(SUPPRESSED if hidden else int(value))
    return cells


def _bars(filters: Filters, columns: list[str], rows: list[list[Any]]) -> dict[str, list]:
    """Series for a chart by quarter: the quarters only (the year would dwarf them)."""
    return {row[0]: row[1:5] if not filters.quarter else row[1:] for row in rows}


def people(filters: Filters, patterns: YearPatterns, chosen) -> Chart:
    columns = _columns(filters)
    rows = []
    for code, name in PEOPLE.items():
        figures, group = patterns.measure(code)
        rows.append([name, *_cells(figures, chosen, group, columns)])
    table = DataTable(["Measure", *columns], rows, ["", *["count"] * len(columns)])
    return Chart(
        "people",
        f"People supported and taking part, {filters.year.label}",
        f"{rows[0][-1]} victims supported by victims' services in "
        f"{columns[-1] if filters.quarter else filters.year.label}.",
        table,
        bar_figure(columns[:4] if not filters.quarter else columns,
                   _bars(filters, columns, rows), y_title="People"),
    )  # fmt: skip


def _breakdown_rows(figures: Figures, chosen, columns: list[str], total_name: str):
    """A breakdown's categories, then their total."""
    family = figures.family
    names = dict(zip(family.categories, BREAKDOWNS[family.breakdown][1], strict=True))
    return [[names.get(group, total_name), *_cells(figures, chosen, group, columns)]
            for group in [*family.categories, CATEGORIES]]  # fmt: skip


def processes(filters: Filters, patterns: YearPatterns, chosen) -> Chart:
    """Restorative processes completed (RJ07) by type: direct, indirect, reparation."""
    columns = _columns(filters)
    rows = _breakdown_rows(patterns.family(PROCESSES), chosen, columns, "All processes")
    table = DataTable(["Process", *columns], rows, ["", *["count"] * len(columns)])
    return Chart(
        "processes",
        f"Restorative processes completed, by type, {filters.year.label}",
        f"{rows[-1][-1]} restorative processes completed ("
        + ", ".join(f"{row[-1]} {row[0].split(' (')[0].lower()}" for row in rows[:-1])
        + ").",
        table,
        bar_figure(columns[:4] if not filters.quarter else columns,
                   _bars(filters, columns, rows[:-1]), y_title="Processes", stacked=True),
    )  # fmt: skip


def satisfaction(filters: Filters, patterns: YearPatterns, chosen) -> Chart:
    """Service users satisfied. Those who gave feedback are the satisfied plus the rest,
    so the rest is a figure of the pattern too; the rate goes with either count."""
    columns = _columns(filters)
    figures = patterns.family(SATISFACTION)
    responses = _cells(figures, chosen, "responses", columns)
    satisfied = _cells(figures, chosen, "satisfied", columns)
    rates = []
    for given, happy in zip(responses, satisfied, strict=True):
        if SUPPRESSED in (given, happy):
            rates.append(SUPPRESSED)
        else:
            rates.append(_percent(happy, given))
    table = DataTable(
        ["", *columns],
        [["Gave feedback", *responses], ["Satisfied or very satisfied", *satisfied],
         ["Satisfaction rate (%)", *rates]],
        ["", *["count"] * len(columns)],
    )  # fmt: skip
    return Chart(
        "satisfaction",
        f"Service-user satisfaction, {filters.year.label}",
        f"{_rate_text(rates[-1])} of those who gave feedback were satisfied or very satisfied.",
        table,
        line_figure(columns, {"Satisfaction rate (%)": rates}, y_title="%"),
    )


def _percent(part: int | None, whole: int | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def recovery(filters: Filters, patterns: YearPatterns, chosen) -> Chart:
    """Cope-and-recover rates: the average of the contracts' reported percentages,
    suppressed where a count of people they are built on is suppressed or small."""
    rows = db.session.execute(
        select(ReturnFact.code, ReturnFact.quarter, func.avg(ReturnFact.value))
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .where(ReturnFact.year == filters.year.label, ReturnFact.code.in_(RATE_NAMES),
               ReturnFact.kind == "K", ReturnFact.breakdown == "",
               *filters.contract_conditions())
        .group_by(ReturnFact.code, ReturnFact.quarter)
    ).all()  # fmt: skip
    averages = {(code, f"Q{quarter}"): Decimal(str(value)) for code, quarter, value in rows}
    columns = _columns(filters)
    table_rows = []
    for code, name in RATE_NAMES.items():
        cells = []
        for column in columns:
            value = averages.get((code, column))
            if column == YEAR:
                quarters = [averages[code, q] for q in COLUMNS[:4] if (code, q) in averages]
                value = sum(quarters) / len(quarters) if quarters else None
            people = sum(patterns.measure(base)[0].figure(chosen, column, base)[0]
                         for base in BASES[code])  # fmt: skip
            if value is None or not people:
                cells.append(None)
            elif patterns.rate_hidden(code, chosen, column):
                cells.append(SUPPRESSED)
            else:
                cells.append(value.quantize(Decimal("0.1")))
        table_rows.append([name, *cells])
    table = DataTable(["Measure (%)", *columns], table_rows, ["", *["percent"] * len(columns)])
    return Chart(
        "recovery",
        f"Victims better able to cope and recover, {filters.year.label}",
        "; ".join(f"{row[0]}: {_rate_text(row[-1])}" for row in table_rows) + ".",
        table,
        line_figure(columns, {row[0]: row[1:] for row in table_rows}, y_title="%"),
    )


def _rate_text(value: Any) -> str:
    if value is SUPPRESSED:
        return "suppressed"
    return "no figures" if value is None else f"{value}%"


def referral_sources(filters: Filters, patterns: YearPatterns, chosen) -> Chart:
    """Referrals (RJ01 and VS01) by who referred."""
    columns = _columns(filters)
    rows = _breakdown_rows(patterns.family(REFERRALS), chosen, columns, "All referrals")
    table = DataTable(["Referred by", *columns], rows, ["", *["count"] * len(columns)])
    shown = [row for row in rows[:-1] if row[-1] is not SUPPRESSED]
    top = max(shown, key=lambda row: row[-1], default=None)
    return Chart(
        "referral-sources",
        f"Referral sources, {filters.year.label}",
        f"{rows[-1][-1]} referrals; the most from {top[0].lower()} ({top[-1]})."
        if top
        else "No referrals recorded.",
        table,
        bar_figure([row[0] for row in rows[:-1]], {"Referrals": [row[-1] for row in rows[:-1]]},
                   y_title="Referrals", horizontal=True),
    )  # fmt: skip


def equality_rows(figure: Callable[[Family, str], tuple[Decimal, bool]]) -> list[list[Any]]:
    """Equality monitoring by protected characteristic, each characteristic's categories
    then their total. `figure(family, part)` gives (value, suppressed?): the dashboard
    reads one quarter or the year, an evaluation report its own periods."""
    rows: list[list[Any]] = []
    for characteristic, (title, names) in EQUALITY.items():
        family = equality_family(characteristic)
        for name, part in [*((name, slug(name)) for name in names), ("All", ALL)]:
            value, hidden = figure(family, part)
            rows.append([title, name, SUPPRESSED if hidden else int(value)])
    return rows


def equality(filters: Filters, patterns: YearPatterns, chosen) -> Chart:
    """Equality monitoring of the people the services worked with."""
    column = _columns(filters)[-1]
    table_rows = equality_rows(
        lambda family, part: patterns.family(family).figure(chosen, column, part)
    )
    table = DataTable(["Characteristic", "Category", column], table_rows, ["", "", "count"])
    hidden_count = sum(1 for row in table_rows if row[-1] is SUPPRESSED)
    return Chart(
        "equality",
        f"Equality monitoring, {column if filters.quarter else filters.year.label}",
        f"People the services worked with, by protected characteristic; {hidden_count} "
        f"figures suppressed." if patterns.threshold else
        "People the services worked with, by protected characteristic.",
        table,
        bar_figure([f"{row[0]}: {row[1]}" for row in table_rows if row[1] != "All"],
                   {"People": [row[-1] for row in table_rows if row[1] != "All"]},
                   y_title="People", horizontal=True),
    )  # fmt: skip
