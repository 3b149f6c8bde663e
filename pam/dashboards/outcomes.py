"""The outcomes-for-victims dashboard: people supported, restorative processes completed,
satisfaction and cope-and-recover rates, referral sources and equality monitoring.

These are counts of people, so every table is suppressed (pam.dashboards.suppression)
unless an OPCC officer is looking. Each table is always worked out for the whole year,
all four quarters and the year total, and suppressed as a whole before the quarter asked
for is picked out, so a quarter viewed alone never shows what the year view hides. With
an area, service or provider filter, each figure is also checked against the same
figure for everything else, so the unfiltered view cannot be used to subtract it out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select

from pam.contracts.models import Contract
from pam.dashboards.charts import SUPPRESSED, Chart, DataTable, bar_figure, line_figure
from pam.dashboards.filters import Filters
from pam.dashboards.suppression import Suppression, rate, suppress
from pam.extensions import db
from pam.outcomes.models import BREAKDOWNS
from pam.returns.layout import EQUALITY, slug
from pam.returns.models import ReturnFact

YEAR = "Year"
COLUMNS = ["Q1", "Q2", "Q3", "Q4", YEAR]
PEOPLE = {"VS02": "Victims supported", "RJ04": "Victims in a direct restorative process",
          "RJ05": "Victims in an indirect restorative process"}  # fmt: skip
RATES = {"RJ09": ("RJ04", "RJ05"), "VS03": ("VS02",)}  # rate: the counts it is built on
RATE_NAMES = {
    "RJ09": "Victims better able to cope and recover (RJ)",
    "VS03": "Victims with improved cope and recover outcomes (victims' services)",
}


@dataclass
class Grid:
    """Figures by (row, column) for the whole year, for the filter and for everything."""

    rows: list[str]
    filtered: dict[tuple[str, str], Decimal]
    everything: dict[tuple[str, str], Decimal]

    @classmethod
    def from_sums(cls, rows: list[str], sums: dict[tuple[str, int], tuple]) -> Grid:
        filtered: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        everything: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for (row, quarter), (all_value, filtered_value) in sums.items():
            for column in (f"Q{quarter}", YEAR):
                everything[row, column] += Decimal(str(all_value or 0))
                filtered[row, column] += Decimal(str(filtered_value or 0))
        for row in rows:
            for column in COLUMNS:
                filtered.setdefault((row, column), Decimal(0))
                everything.setdefault((row, column), Decimal(0))
        return cls(rows, dict(filtered), dict(everything))

    def add_total_row(self, name: str = "Total") -> None:
        for column in COLUMNS:
            for source in (self.filtered, self.everything):
                source[name, column] = sum((source[row, column] for row in self.rows), Decimal(0))
        self.rows = [*self.rows, name]

    def suppression(self, threshold: int, filters: Filters, totals: bool) -> Suppression:
        """Suppress the grid: each row with its year total; with a total row, each column."""
        groups = [[(row, column) for column in COLUMNS] for row in self.rows]
        if totals:
            groups += [[(row, column) for row in self.rows] for column in COLUMNS]
        complements = _complements(self.filtered, self.everything, groups, threshold, filters)
        return suppress(self.filtered, groups, threshold, complements)


def _complements(
    filtered: dict, everything: dict, groups: list, threshold: int, filters: Filters
) -> dict | None:
    """What subtracting each filtered figure from the unfiltered one would reveal, for the
    unfiltered figures anyone can see (one suppressed in the unfiltered view gives
    nothing away)."""
    if not filters.narrows_contracts or not threshold:
        return None
    whole = suppress(everything, groups, threshold)
    return {key: everything[key] - value for key, value in filtered.items() if not whole.hides(key)}


def _sums(filters: Filters, group: Any, *conditions: Any) -> dict[tuple[str, int], tuple]:
    """{(group value, quarter): (sum over every contract, sum over the filtered ones)}, in
    one statement however many contracts and returns there are."""
    narrowing = filters.contract_conditions()
    filtered_value = (
        func.sum(case((and_(*narrowing), ReturnFact.value), else_=0))
        if narrowing
        else func.sum(ReturnFact.value)
    )
    rows = db.session.execute(
        select(group, ReturnFact.quarter, func.sum(ReturnFact.value), filtered_value)
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .where(ReturnFact.year == filters.year.label, *conditions)
        .group_by(group, ReturnFact.quarter)
    ).all()
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


def _columns(filters: Filters) -> list[str]:
    return [f"Q{filters.quarter}"] if filters.quarter else COLUMNS


def _cells(grid: Grid, hidden: Suppression, row: str, columns: list[str]) -> list[Any]:
    return [
        SUPPRESSED if hidden.hides((row, column)) else int(grid.filtered[row, column])
        for column in columns
    ]


def build(filters: Filters, threshold: int) -> list[Chart]:
    """threshold 0 shows every figure (an officer's view)."""
    people_chart, people_grid, people_hidden = people(filters, threshold)
    return [
        people_chart,
        processes(filters, threshold),
        satisfaction(filters, threshold),
        recovery(filters, people_grid, people_hidden),
        referral_sources(filters, threshold),
        equality(filters, threshold),
    ]


def people(filters: Filters, threshold: int) -> tuple[Chart, Grid, Suppression]:
    sums = _sums(filters, ReturnFact.code, ReturnFact.kind == "K", ReturnFact.breakdown == "",
                 ReturnFact.code.in_(PEOPLE))  # fmt: skip
    grid = Grid.from_sums(list(PEOPLE), sums)
    hidden = grid.suppression(threshold, filters, totals=False)
    columns = _columns(filters)
    rows = [[PEOPLE[code], *_cells(grid, hidden, code, columns)] for code in PEOPLE]
    table = DataTable(["Measure", *columns], rows, ["", *["count"] * len(columns)])
    supported = rows[0][-1]
    return (
        Chart(
            "people",
            f"People supported and taking part, {filters.year.label}",
            f"{supported} victims supported by victims' services in "
            f"{columns[-1] if filters.quarter else filters.year.label}.",
            table,
            bar_figure(
                columns[:4] if not filters.quarter else columns,
                {row[0]: row[1:5] if not filters.quarter else row[1:] for row in rows},
                y_title="People",
            ),
        ),
        grid,
        hidden,
    )


def processes(filters: Filters, threshold: int) -> Chart:
    """Restorative processes completed (RJ07) by type: direct, indirect, reparation."""
    categories = {slug(name): name for name in BREAKDOWNS["process_type"][1]}
    sums = _sums(filters, ReturnFact.category, ReturnFact.code == "RJ07",
                 ReturnFact.breakdown == "process_type")  # fmt: skip
    grid = Grid.from_sums(list(categories), sums)
    grid.add_total_row()
    hidden = grid.suppression(threshold, filters, totals=True)
    columns = _columns(filters)
    rows = [
        [categories.get(row, "All processes"), *_cells(grid, hidden, row, columns)]
        for row in grid.rows
    ]
    table = DataTable(["Process", *columns], rows, ["", *["count"] * len(columns)])
    return Chart(
        "processes",
        f"Restorative processes completed, by type, {filters.year.label}",
        f"{rows[-1][-1]} restorative processes completed "
        f"({rows[0][-1]} direct, {rows[1][-1]} indirect).",
        table,
        bar_figure(columns[:4] if not filters.quarter else columns,
                   {row[0]: row[1:5] if not filters.quarter else row[1:] for row in rows[:-1]},
                   y_title="Processes", stacked=True),
    )  # fmt: skip


def satisfaction(filters: Filters, threshold: int) -> Chart:
    """Service users satisfied: the rate is suppressed when either count behind it is."""
    sums = _sums(filters, ReturnFact.code, ReturnFact.kind == "Q")
    # Those who gave feedback are the satisfied plus the rest: the rest is implied by the
    # other two, so it is a cell of the grid too, and "responses" is the grid's total.
    for (code, quarter), (everyone, filtered) in list(sums.items()):
        if code == "responses":
            satisfied = sums.get(("satisfied", quarter), (0, 0))
            sums["unsatisfied", quarter] = (
                (everyone or 0) - (satisfied[0] or 0), (filtered or 0) - (satisfied[1] or 0)
            )  # fmt: skip
    sums = {key: value for key, value in sums.items() if key[0] != "responses"}
    grid = Grid.from_sums(["satisfied", "unsatisfied"], sums)
    grid.add_total_row("responses")
    hidden = grid.suppression(threshold, filters, totals=True)
    columns = _columns(filters)
    responses = _cells(grid, hidden, "responses", columns)
    satisfied = _cells(grid, hidden, "satisfied", columns)
    rates = []
    for column in columns:
        blocked = hidden.hides(("responses", column)) or hidden.hides(("satisfied", column))
        value = rate(grid.filtered["satisfied", column], grid.filtered["responses", column],
                     hidden=blocked)  # fmt: skip
        rates.append(SUPPRESSED if blocked else value)
    table = DataTable(
        ["", *columns],
        [["Gave feedback", *responses], ["Satisfied or very satisfied", *satisfied],
         ["Satisfaction rate (%)", *rates]],
        ["", *["count"] * len(columns)],
    )  # fmt: skip
    return Chart(
        "satisfaction",
        f"Service-user satisfaction, {filters.year.label}",
        f"{rates[-1]}% of those who gave feedback were satisfied or very satisfied.",
        table,
        line_figure(columns, {"Satisfaction rate (%)": rates}, y_title="%"),
    )


def recovery(filters: Filters, people_grid: Grid, people_hidden: Suppression) -> Chart:
    """Cope-and-recover rates: the average of the contracts' reported percentages,
    suppressed where the count of people they are built on is suppressed."""
    narrowing = filters.contract_conditions()
    rows = db.session.execute(
        select(ReturnFact.code, ReturnFact.quarter, func.avg(ReturnFact.value))
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .where(ReturnFact.year == filters.year.label, ReturnFact.code.in_(RATES),
               ReturnFact.kind == "K", ReturnFact.breakdown == "", *narrowing)
        .group_by(ReturnFact.code, ReturnFact.quarter)
    ).all()  # fmt: skip
    averages = {(code, f"Q{quarter}"): Decimal(str(value)) for code, quarter, value in rows}
    columns = _columns(filters)
    table_rows = []
    for code, bases in RATES.items():
        cells = []
        for column in columns:
            value = averages.get((code, column))
            if column == YEAR:
                quarters = [averages[code, q] for q in COLUMNS[:4] if (code, q) in averages]
                value = sum(quarters) / len(quarters) if quarters else None
            blocked = any(people_hidden.hides((base, column)) for base in bases)
            base_count = sum(people_grid.filtered.get((base, column), 0) for base in bases)
            if value is None or not base_count:
                cells.append(None)
            else:
                cells.append(SUPPRESSED if blocked else value.quantize(Decimal("0.1")))
        table_rows.append([RATE_NAMES[code], *cells])
    table = DataTable(["Measure (%)", *columns], table_rows, ["", *["percent"] * len(columns)])
    return Chart(
        "recovery",
        f"Victims better able to cope and recover, {filters.year.label}",
        "; ".join(f"{row[0]}: {_rate_text(row[-1])}" for row in table_rows) + ".",
        table,
        line_figure(columns, {row[0]: row[1:] for row in table_rows}, y_title="%"),
    )  # fmt: skip


def _rate_text(value: Any) -> str:
    if value is SUPPRESSED:
        return "suppressed"
    return "no figures" if value is None else f"{value}%"


def referral_sources(filters: Filters, threshold: int) -> Chart:
    """Referrals (RJ01 and VS01) by who referred."""
    categories = {slug(name): name for name in BREAKDOWNS["referral_source"][1]}
    sums = _sums(filters, ReturnFact.category, ReturnFact.breakdown == "referral_source",
                 ReturnFact.code.in_(("RJ01", "VS01")))  # fmt: skip
    grid = Grid.from_sums(list(categories), sums)
    grid.add_total_row()
    hidden = grid.suppression(threshold, filters, totals=True)
    columns = _columns(filters)
    rows = [[categories.get(row, "All referrals"), *_cells(grid, hidden, row, columns)]
            for row in grid.rows]  # fmt: skip
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


def equality(filters: Filters, threshold: int) -> Chart:
    """Equality monitoring of the people the services worked with, by protected
    characteristic: each characteristic's categories add up to its own total."""
    sums = _sums(filters, ReturnFact.key, ReturnFact.kind == "E")
    column = f"Q{filters.quarter}" if filters.quarter else YEAR
    table_rows: list[list[Any]] = []
    for characteristic, (title, names) in EQUALITY.items():
        keys = [f"E:{characteristic}:{slug(name)}" for name in names]
        grid = Grid.from_sums(keys, {k: v for k, v in sums.items() if k[0] in keys})
        grid.add_total_row("all")
        hidden = grid.suppression(threshold, filters, totals=True)
        for key, name in zip([*keys, "all"], [*names, "All"], strict=True):
            table_rows.append([title, name, *_cells(grid, hidden, key, [column])])
    table = DataTable(["Characteristic", "Category", column], table_rows, ["", "", "count"])
    hidden_count = sum(1 for row in table_rows if row[-1] is SUPPRESSED)
    return Chart(
        "equality",
        f"Equality monitoring, {column if filters.quarter else filters.year.label}",
        f"People the services worked with, by protected characteristic; {hidden_count} "
        f"figures suppressed." if threshold else
        "People the services worked with, by protected characteristic.",
        table,
        bar_figure([f"{row[0]}: {row[1]}" for row in table_rows if row[1] != "All"],
                   {"People": [row[-1] for row in table_rows if row[1] != "All"]},
                   y_title="People", horizontal=True),
    )  # fmt: skip
