"""The performance dashboard: a measure's actual against target by quarter (per service
and per contract), the RAG matrix of contracts by quarter, and return timeliness."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from pam.contracts.models import Contract, ContractStatus
from pam.core.periods import UK, Period
from pam.dashboards.charts import RAG_COLOURS, SUPPRESSED, Chart, DataTable, bar_figure
from pam.dashboards.filters import Filters
from pam.dashboards.portfolio import RAG_ORDER, WORST
from pam.dashboards.suppression import suppress
from pam.extensions import db
from pam.outcomes.dictionary import current_names
from pam.outcomes.models import OutcomeFramework
from pam.outcomes.schedule import all_periods
from pam.providers.models import Organisation, ServiceCategory
from pam.returns.models import ProviderReturn, ReturnFact, ReturnVersion
from pam.returns.services import due_on

RATE_UNITS = ("percentage", "days")
DEFAULT_MEASURES = ("RJ01", "VS02")  # shown first: the measures most contracts report


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


def build(
    filters: Filters, today: date, choices: list[tuple[str, str]], threshold: int = 0
) -> list[Chart]:
    """threshold 0 shows every figure (an officer's view); otherwise counts of people are
    suppressed as on the outcomes page."""
    code = chosen_measure(filters, choices)
    charts = []
    if code:
        name = dict(choices)[code]
        service_chart, contract_chart = (
            by_service(filters, code, name),
            by_contract(filters, code, name),
        )
        if threshold and service_chart.table.formats[2] == "number":
            everything = None
            if filters.narrows_contracts:  # what the unfiltered view would show
                wider = replace(filters, area_id=None, service_id=None, provider_id=None)
                everything = by_service(wider, code, name)
            _suppress_counts(service_chart, contract_chart, threshold, everything)
        charts += [service_chart, contract_chart]
    charts += [rag_matrix(filters), timeliness(filters, today)]
    return charts


def _suppress_counts(
    service_chart: Chart, contract_chart: Chart, threshold: int, everything: Chart | None
) -> None:
    """A service's count is the sum of its contracts' counts that quarter, and the
    services add up to the measure's total (public on the outcomes page): each such group
    is suppressed together. With a filter, a service's figure also goes when the same
    figure unfiltered, less it, would be a small number. A percentage of target built on
    a suppressed count goes with it."""
    values, groups = {}, {}
    for service, quarter, actual, *_ in service_chart.table.rows:
        values[("s", service, quarter)] = actual
        groups[(service, quarter)] = [("s", service, quarter)]
        groups.setdefault(("all services", quarter), []).append(("s", service, quarter))
    for reference, _provider, quarter, actual, _target, _rag, service in contract_chart.table.rows:
        values[("c", reference, quarter)] = actual
        groups.setdefault((service, quarter), []).append(("c", reference, quarter))
    complements = None
    if everything is not None:
        unfiltered = {(row[0], row[1]): row[2] for row in everything.table.rows}
        complements = {
            ("s", service, quarter): unfiltered.get((service, quarter), 0) - (actual or 0)
            for service, quarter, actual, *_ in service_chart.table.rows
        }
    hidden = suppress(values, list(groups.values()), threshold, complements)
    for row in service_chart.table.rows:
        if hidden.hides(("s", row[0], row[1])):
            row[2], row[4] = SUPPRESSED, SUPPRESSED
    for row in contract_chart.table.rows:
        if hidden.hides(("c", row[0], row[2])):
            row[3] = SUPPRESSED
    figure = json.loads(service_chart.figure) if service_chart.figure else None
    if figure:  # the chart draws % of target: a gap where the figure is suppressed
        for trace in figure["data"]:
            for index, quarter in enumerate(trace["x"]):
                if hidden.hides(("s", trace["name"], quarter)):
                    trace["y"][index] = None
        service_chart.figure = json.dumps(figure)
    service_chart.note += " [c]: suppressed small number."


def _measure_rows(filters: Filters, code: str, *group):
    """Actual and target of one measure's totals per group and quarter. Counts add up;
    rates and days are averaged over the contracts."""
    unit = db.session.scalar(
        select(ReturnFact.unit).where(ReturnFact.code == code, ReturnFact.kind == "K").limit(1)
    )
    combine = func.avg if unit in RATE_UNITS else func.sum
    return unit, db.session.execute(
        select(*group, ReturnFact.quarter, combine(ReturnFact.value), combine(ReturnFact.target),
               func.max(RAG_ORDER),
               combine(case((ReturnFact.target.is_not(None), ReturnFact.value))))
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


def _percent(actual, target) -> Decimal | None:
    if actual is None or not target:
        return None
    return (Decimal(str(actual)) * 100 / Decimal(str(target))).quantize(Decimal("1"))


def by_service(filters: Filters, code: str, name: str) -> Chart:
    unit, rows = _measure_rows(filters, code, ServiceCategory.name)
    fmt = "percent" if unit == "percentage" else "number"
    table = DataTable(
        ["Service category", "Quarter", "Actual", "Target", "% of target"],
        [[service, f"Q{quarter}", _figure(actual), _figure(target), _percent(targeted, target)]
         for service, quarter, actual, target, _, targeted in rows],
        ["", "", fmt, fmt, "count"],
    )  # fmt: skip
    quarters = [f"Q{q}" for q in filters.quarters]
    series: dict[str, list] = {}
    for service, quarter, _actual, target, _, targeted in rows:
        series.setdefault(service, [None] * len(quarters))
        if f"Q{quarter}" in quarters:
            series[service][quarters.index(f"Q{quarter}")] = _percent(targeted, target)
    below = [row for row in table.rows if row[4] is not None and row[4] < 100]
    return Chart(
        "measure-by-service",
        f"{code} {name}: actual against target by service, {filters.year.label}",
        f"{len(below)} of {len(table.rows)} service-quarters are below target.",
        table,
        bar_figure(quarters, series, y_title="% of target"),
        note="100% is on target. Counts are added up across contracts; rates and days are "
        "averaged over them.",
    )


def by_contract(filters: Filters, code: str, name: str) -> Chart:
    unit, rows = _measure_rows(
        filters, code, Contract.reference, Organisation.name, ServiceCategory.name
    )
    fmt = "percent" if unit == "percentage" else "number"
    table = DataTable(
        ["Contract", "Provider", "Quarter", "Actual", "Target", "RAG", "Service category"],
        [[reference, provider, f"Q{quarter}", _figure(actual), _figure(target),
          WORST.get(worst, "Not rated"), service]
         for reference, provider, service, quarter, actual, target, worst, _ in rows],
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


def rag_matrix(filters: Filters) -> Chart:
    """Contracts by quarter, each cell the contract's worst measure that quarter."""
    rows = db.session.execute(
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
    ).all()  # fmt: skip
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


def return_states(filters: Filters, today: date) -> list[tuple[Contract, Period, int, date, str]]:
    """Each return due in the year (and quarter): (contract, period, quarter, due date,
    state), the state being on time, late, missing (overdue, nothing submitted) or not yet
    due. The schedule is worked out per contract in Python from two queries (contracts
    with frameworks, and first submissions), so statements stay constant."""
    contracts = db.session.scalars(
        select(Contract)
        .where(Contract.status.in_([ContractStatus.LIVE, ContractStatus.ENDED]),
               *filters.contract_conditions())
        .options(selectinload(Contract.framework).selectinload(OutcomeFramework.measures),
                 selectinload(Contract.provider))
        .order_by(Contract.reference)
    ).all()  # fmt: skip
    first_submitted = {
        (contract_id, period): submitted
        for contract_id, period, submitted in db.session.execute(
            select(
                ProviderReturn.contract_id,
                ProviderReturn.period,
                func.min(ReturnVersion.submitted_at),
            )
            .join(ReturnVersion, ReturnVersion.return_id == ProviderReturn.id)
            .where(ProviderReturn.contract_id.in_([c.id for c in contracts]))
            .group_by(ProviderReturn.contract_id, ProviderReturn.period)
        ).all()
    }
    states = []
    for contract in contracts:
        if contract.framework is None or not contract.framework.measures:
            continue
        for period in all_periods(contract):
            quarter = int(period.quarter_containing(period.ends_on).part[1])
            if period.year != filters.year or quarter not in filters.quarters:
                continue
            due = due_on(contract, period)
            state = _timeliness(first_submitted.get((contract.id, period.label)), due, today)
            states.append((contract, period, quarter, due, state))
    return states


def timeliness(filters: Filters, today: date) -> Chart:
    states = ("On time", "Late", "Missing", "Not yet due")
    counts = {state: [0, 0, 0, 0] for state in states}
    for _contract, _period, quarter, _due, state in return_states(filters, today):
        counts[state][quarter - 1] += 1
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
    if submitted.tzinfo is None:  # SQLite hands back UTC without its zone
        submitted = submitted.replace(tzinfo=UTC)
    return "Late" if submitted.astimezone(UK).date() > due else "On time"
