"""The performance dashboard: a measure's actual against target by quarter (per service
and per contract), the RAG matrix of contracts by quarter, and return timeliness.

For the board, every actual is shown or suppressed as the year's suppression pattern
(pam.dashboards.patterns) says: the same pattern the outcomes page, the board pack and
evaluation reports read, so no two of them can be subtracted to reveal a small number.
Counts follow the pattern; a rate goes with the counts it is built on; an average number
of days is not a count of people and is shown."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import case, func, select

from pam.contracts.models import Contract, ContractStatus
from pam.core.periods import UK, Period, as_utc, due_date
from pam.dashboards.aggregation import sql_across_contracts
from pam.dashboards.charts import RAG_COLOURS, SUPPRESSED, Chart, DataTable, bar_figure
from pam.dashboards.filters import Filters
from pam.dashboards.memo import Remembered, under_revisions
from pam.dashboards.patterns import YearPatterns, consistent
from pam.dashboards.portfolio import RAG_ORDER, WORST
from pam.extensions import db
from pam.outcomes.dictionary import current_names
from pam.outcomes.models import FrameworkMeasure, OutcomeFramework
from pam.outcomes.schedule import term_periods_in_year
from pam.providers.models import Organisation, ServiceCategory
from pam.returns import revisions
from pam.returns.models import ProviderReturn, ReturnFact, ReturnVersion

DEFAULT_MEASURES = ("RJ01", "VS02")  # shown first: the measures most contracts report
# The page's tables with a row (or four) per contract show at most this many contracts: a
# national deployment has thousands, and a page of twenty thousand rows helps nobody.
# The board pack lists every contract.
CONTRACTS_ON_PAGE = 100
URGENCY = {"Red": 3, "Amber": 2, "Green": 1}


def measure_choices(filters: Filters) -> list[tuple[str, str]]:
    """The measures with accepted figures in the year: [(code, name)], by code."""
    names = current_names()
    codes = db.session.scalars(
        select(ReturnFact.code)
        .where(ReturnFact.year == filters.year.label, ReturnFact.kind == "K")
        .distinct()
        .order_by(ReturnFact.code)
    ).all()
    return [(code, names.get(code, code)) for code in codes]


def chosen_measure(filters: Filters, choices: list[tuple[str, str]]) -> str | None:
    """The measure asked for, if it has figures; else the first of the usual ones."""
    if filters.measure in dict(choices):
        return filters.measure
    preferred = [c for c in DEFAULT_MEASURES if c in dict(choices)] + [c for c, _ in choices]
    return preferred[0] if preferred else None


@consistent
def build(
    filters: Filters, today: date, choices: list[tuple[str, str]], threshold: int = 0
) -> list[Chart]:
    """threshold 0 shows every figure (an officer's view); otherwise each figure is shown
    or suppressed as the year's suppression pattern says, as on every other output."""
    code = chosen_measure(filters, choices)
    charts = []
    if code:
        name = dict(choices)[code]
        patterns = YearPatterns(filters.year, threshold, filters)
        charts += [by_service(filters, code, name, patterns),
                   most_urgent(by_contract(filters, code, name, patterns))]  # fmt: skip
    charts += [most_urgent(rag_matrix(filters)), timeliness(filters, today)]
    return charts


def most_urgent(chart: Chart, limit: int | None = None) -> Chart:
    """The chart with its table cut to `limit` contracts (CONTRACTS_ON_PAGE): those with
    the worst RAG (Red, then Amber...), in the table's own order, with a note saying so.
    A contract is its table's first column; its RAG is in the columns formatted "rag"."""
    limit = CONTRACTS_ON_PAGE if limit is None else limit
    table = chart.table
    contracts = list(dict.fromkeys(row[0] for row in table.rows))
    if len(contracts) <= limit:
        return chart
    rag_columns = [i for i, fmt in enumerate(table.formats) if fmt == "rag"]
    worst: dict[str, int] = {}
    for row in table.rows:
        rags = (URGENCY.get(str(row[i]).split(" ")[0], 0) for i in rag_columns)
        worst[row[0]] = max(worst.get(row[0], 0), *rags)
    ranked = sorted(range(len(contracts)), key=lambda i: (-worst[contracts[i]], i))
    kept = {contracts[i] for i in ranked[:limit]}
    rows = [row for row in table.rows if row[0] in kept]
    note = (f"Showing the {limit} of {len(contracts):,} contracts with the worst RAG (Red "
            "first). Choose an area, service or provider to see the others; the board pack "
            "lists every contract.")  # fmt: skip
    return replace(chart, table=replace(table, rows=rows),
                   note=f"{chart.note} {note}".strip())  # fmt: skip


def _measure_rows(filters: Filters, code: str, *group):
    """Actual and target of one measure's totals per group and quarter (combined across
    contracts as pam.dashboards.aggregation says), the worst RAG, and how many figures
    there are and how many have a target."""
    unit = db.session.scalar(
        select(ReturnFact.unit).where(ReturnFact.code == code, ReturnFact.kind == "K").limit(1)
    )
    return unit, db.session.execute(
        select(*group, ReturnFact.quarter, sql_across_contracts(unit, ReturnFact.value),
               sql_across_contracts(unit, ReturnFact.target), func.max(RAG_ORDER),
               func.count(ReturnFact.value), func.count(ReturnFact.target))
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .join(ServiceCategory, ServiceCategory.id == Contract.service_category_id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(ReturnFact.year == filters.year.label, ReturnFact.code == code,
               ReturnFact.kind == "K", ReturnFact.breakdown == "",
               ReturnFact.quarter.in_(filters.quarters), *filters.contract_conditions())
        .group_by(*group, ReturnFact.quarter)
        .order_by(*group, ReturnFact.quarter)
    ).all()  # fmt: skip


def _figure(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def _against_target(actual, target, figures: int, targeted: int) -> tuple:
    """The target and % of target, only where every figure in the actual has a target:
    a target for some of the contracts against the actual of all would be wrong, and
    the difference would give away the contracts without one."""
    if targeted != figures or actual is None or not target:
        return None, None
    percent = (Decimal(str(actual)) * 100 / Decimal(str(target))).quantize(Decimal("1"))
    return _figure(target), percent


def _shown(value, hidden: bool):
    return SUPPRESSED if hidden and value is not None else value


def by_service(filters: Filters, code: str, name: str, patterns: YearPatterns | None = None):
    patterns = patterns or YearPatterns(filters.year, 0)
    unit, rows = _measure_rows(filters, code, ServiceCategory.id, ServiceCategory.name)
    fmt = "percent" if unit == "percentage" else "number"
    table_rows = []
    for service_id, service, quarter, actual, target, _worst, figures, targeted in rows:
        chosen = patterns.selection(replace(filters, service_id=service_id))
        hidden = patterns.unit_hidden(code, unit, chosen, f"Q{quarter}")
        goal, percent = _against_target(actual, target, figures, targeted)
        table_rows.append([service, f"Q{quarter}", _shown(_figure(actual), hidden), goal,
                           _shown(percent, hidden)])  # fmt: skip
    table = DataTable(["Service category", "Quarter", "Actual", "Target", "% of target"],
                      table_rows, ["", "", fmt, fmt, "count"])  # fmt: skip
    quarters = [f"Q{q}" for q in filters.quarters]
    series: dict[str, list] = {}
    for service, quarter, _actual, _target, percent in table_rows:
        series.setdefault(service, [None] * len(quarters))[quarters.index(quarter)] = percent
    below = [row for row in table_rows if isinstance(row[4], Decimal) and row[4] < 100]
    return Chart(
        "measure-by-service",
        f"{code} {name}: actual against target by service, {filters.year.label}",
        f"{len(below)} of {len(table.rows)} service-quarters are below target.",
        table,
        bar_figure(quarters, series, y_title="% of target"),
        note="100% is on target. Counts are added up across contracts; rates and days are "
        "averaged over them. No target or % where some contracts have no target."
        + (" [c]: suppressed small number." if patterns.threshold else ""),
    )


def by_contract(filters: Filters, code: str, name: str, patterns: YearPatterns | None = None):
    patterns = patterns or YearPatterns(filters.year, 0)
    unit, rows = _measure_rows(filters, code, Contract.id, Contract.reference, Organisation.name,
                               ServiceCategory.name)  # fmt: skip
    fmt = "percent" if unit == "percentage" else "number"
    table = DataTable(
        ["Contract", "Provider", "Quarter", "Actual", "Target", "RAG", "Service category"],
        [[reference, provider, f"Q{quarter}",
          _shown(_figure(actual), patterns.unit_hidden(code, unit, {contract}, f"Q{quarter}")),
          _figure(target), WORST.get(worst, "Not rated"), service]
         for contract, reference, provider, service, quarter, actual, target, worst, *_ in rows],
        ["", "", "", fmt, fmt, "rag", ""],
    )  # fmt: skip
    reds = sum(1 for row in table.rows if row[5] == "Red")
    return Chart(
        "measure-by-contract",
        f"{code} {name}: each contract by quarter, {filters.year.label}",
        f"{len({row[0] for row in table.rows})} contracts report this measure; {reds} "
        f"contract-quarters are Red.",
        table,
    )


# The RAG matrix's rows as worked out, under the revisions of the facts and of the
# contracts' reference, provider and areas (pam.returns.revisions) and the filters.
_BY_REVISIONS = Remembered(32)


def rag_matrix(filters: Filters) -> Chart:
    """Contracts by quarter, each cell the contract's worst measure that quarter."""
    stamps = revisions.board_stamps(filters.year.label)
    key = ("rag matrix", filters.year.label, *filters.contracts_key)
    rows = under_revisions(_BY_REVISIONS, stamps, key, lambda: _rag_matrix_rows(filters))
    return _rag_matrix_chart(filters, rows)


def _rag_matrix_rows(filters: Filters) -> tuple[tuple, ...]:
    """(reference, provider, quarter, worst, green, amber, red) for each contract and
    quarter with a rated measure."""
    return tuple(tuple(row) for row in db.session.execute(
        select(Contract.reference, Organisation.name, ReturnFact.quarter, func.max(RAG_ORDER),
               func.sum(case((ReturnFact.rag == "green", 1), else_=0)),
               func.sum(case((ReturnFact.rag == "amber", 1), else_=0)),
               func.sum(case((ReturnFact.rag == "red", 1), else_=0)))
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(ReturnFact.year == filters.year.label, ReturnFact.kind == "K",
               ReturnFact.rag.is_not(None), *filters.contract_conditions())
        .group_by(Contract.reference, Organisation.name, ReturnFact.quarter)
        .order_by(Contract.reference, ReturnFact.quarter)
    ))  # fmt: skip


def _rag_matrix_chart(filters: Filters, rows: tuple[tuple, ...]) -> Chart:
    matrix: dict[tuple[str, str], list] = {}
    counts = {rag: [0, 0, 0, 0] for rag in ("Green", "Amber", "Red")}
    for reference, provider, quarter, worst, green, amber, red in rows:
        cells = matrix.setdefault((reference, provider), [None] * 4)
        cells[quarter - 1] = (WORST[worst], int(green), int(amber), int(red))
        counts[WORST[worst]][quarter - 1] += 1
    table = DataTable(
        ["Contract", "Provider", "Q1", "Q2", "Q3", "Q4"],
        [[reference, provider, *[_cell(cell) for cell in cells]]
         for (reference, provider), cells in matrix.items()],
        ["", "", "rag", "rag", "rag", "rag"],
    )  # fmt: skip
    latest = max((q for q in range(4) if any(counts[r][q] for r in counts)), default=None)
    summary = (
        f"Q{latest + 1}: {counts['Green'][latest]} Green, {counts['Amber'][latest]} Amber, "
        f"{counts['Red'][latest]} Red."
        if latest is not None
        else "No accepted returns with targets in this year yet."
    )
    return Chart(
        "rag-matrix",
        f"RAG matrix: contracts by quarter, {filters.year.label}",
        summary,
        table,
        bar_figure(["Q1", "Q2", "Q3", "Q4"], counts, y_title="Contracts", stacked=True,
                   colours=RAG_COLOURS),
        note="Each cell is the contract's worst measure that quarter, with the number of "
        "measures Green, Amber and Red.",
    )  # fmt: skip


def _cell(cell) -> str | None:
    if cell is None:
        return None
    rag, green, amber, red = cell
    return f"{rag} ({green} G, {amber} A, {red} R)"


class ReturnDue(NamedTuple):
    """A return due in the year, and how it stands."""

    contract_id: int
    reference: str
    provider: str
    period: Period
    quarter: int
    due: date
    state: str  # on time, late, missing (overdue, nothing submitted) or not yet due


# Return states as worked out, under the 'return states' revision (pam.returns.revisions)
# and what was asked: a warm view reads one row instead of every due return of the year.
_RETURN_STATES = Remembered(32)


def return_states(filters: Filters, today: date) -> tuple[ReturnDue, ...]:
    """Each return due in the year (and quarter), in contract reference order: as this
    process last worked it out, if nothing it depends on has changed since."""
    stamps = (revisions.return_states_revision(),)  # read first: see YearPatterns.stamps
    key = (filters.year.label, tuple(filters.quarters), *filters.contracts_key, today)
    return under_revisions(_RETURN_STATES, stamps, key,
                           lambda: tuple(_work_out_return_states(filters, today)))  # fmt: skip


def _work_out_return_states(filters: Filters, today: date) -> list[ReturnDue]:
    """Two queries whatever the number of contracts, read as plain columns (a national
    year has thousands of contracts, and loading each as an object was most of the
    page); the schedule of each is worked out in Python (pam.outcomes.schedule)."""
    # Only contracts whose framework has measures report.
    reporting = (
        select(FrameworkMeasure.id)
        .where(FrameworkMeasure.framework_id == OutcomeFramework.id)
        .exists()
    )
    contracts = (
        select(Contract.id, Contract.reference, Organisation.name.label("provider"),
               Contract.start_on,
               Contract.end_on, OutcomeFramework.frequency, OutcomeFramework.milestones,
               OutcomeFramework.due_days, OutcomeFramework.due_in_working_days)
        .join(OutcomeFramework, OutcomeFramework.contract_id == Contract.id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(Contract.status.in_([ContractStatus.LIVE, ContractStatus.ENDED]), reporting,
               *filters.contract_conditions())
        .order_by(Contract.reference)
    )  # fmt: skip
    first_submitted = {
        (contract_id, period): submitted
        for contract_id, period, submitted in db.session.execute(
            select(ProviderReturn.contract_id, ProviderReturn.period,
                   func.min(ReturnVersion.submitted_at))
            .join(ReturnVersion, ReturnVersion.return_id == ProviderReturn.id)
            .where(ProviderReturn.contract_id.in_(contracts.with_only_columns(Contract.id)
                                                  .order_by(None)),
                   ProviderReturn.period_end.between(filters.year.starts_on,
                                                     filters.year.ends_on))
            .group_by(ProviderReturn.contract_id, ProviderReturn.period)
        )
    }  # fmt: skip
    states = []
    for row in db.session.execute(contracts):
        milestones = [date.fromisoformat(text) for text in row.milestones or []]
        for period in term_periods_in_year(row.start_on, row.end_on, filters.year,
                                           row.frequency, milestones):  # fmt: skip
            quarter = int(period.quarter_containing(period.ends_on).part[1])
            if quarter not in filters.quarters:
                continue
            due = due_date(period.ends_on, row.due_days, row.due_in_working_days)
            state = _timeliness(first_submitted.get((row.id, period.label)), due, today)
            states.append(ReturnDue(row.id, row.reference, row.provider, period, quarter, due,
                                    state))  # fmt: skip
    return states


def timeliness(filters: Filters, today: date) -> Chart:
    states = ("On time", "Late", "Missing", "Not yet due")
    counts = {state: [0, 0, 0, 0] for state in states}
    for due in return_states(filters, today):
        counts[due.state][due.quarter - 1] += 1
    rows = [[f"Q{q}", *[counts[s][q - 1] for s in states]] for q in filters.quarters]
    table = DataTable(["Quarter", *states], rows, ["", "count", "count", "count", "count"])
    due = sum(sum(row[1:4]) for row in rows)
    on_time = sum(row[1] for row in rows)
    return Chart(
        "timeliness",
        f"Return timeliness, {filters.year.label}",
        f"{on_time} of {due} returns due so far arrived on time; "
        f"{sum(row[3] for row in rows)} are missing.",
        table,
        bar_figure([r[0] for r in rows], {s: [r[i + 1] for r in rows] for i, s in
                                          enumerate(states)},
                   y_title="Returns", stacked=True,
                   colours={"On time": "#00703c", "Late": "#f47738", "Missing": "#d4351c",
                            "Not yet due": "#b1b4b6"}),
    )  # fmt: skip


def _timeliness(submitted, due: date, today: date) -> str:
    if submitted is None:
        return "Missing" if today > due else "Not yet due"
    return "Late" if as_utc(submitted).astimezone(UK).date() > due else "On time"
