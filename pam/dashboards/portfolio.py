"""The portfolio dashboard: what is being bought, for how much, against which budget, and
what needs attention soon (contracts ending, compliance expiring).

Every figure is one SQL aggregate over contracts, decisions or the reporting summary; the
number of statements is the same for ten contracts or ten thousand.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from pam.contracts.models import (
    COMPLIANCE_LABELS,
    ComplianceItem,
    Contract,
    ContractStatus,
    contract_areas,
)
from pam.dashboards.charts import RAG_COLOURS, Chart, DataTable, bar_figure
from pam.dashboards.filters import Filters
from pam.dashboards.memo import Remembered, under_revisions
from pam.decisions.models import BudgetLine, DecisionAmount, DecisionStatus, FundingDecision
from pam.extensions import db
from pam.providers.models import Area, Organisation, ServiceCategory
from pam.returns import revisions
from pam.returns.models import ReturnFact

RAG_ORDER = case({"red": 3, "amber": 2, "green": 1}, value=ReturnFact.rag, else_=0)
WORST = {3: "Red", 2: "Amber", 1: "Green"}
COMPLIANCE_WINDOW_DAYS = 90
# The page's lists of contracts ending and compliance expiring show at most this many
# rows, the soonest first: a national deployment has thousands. The counts in each
# summary are of them all, and the board pack lists every compliance item.
ROWS_ON_PAGE = 100


def months_ahead(day: date, months: int) -> date:
    """The same day so many months on (the month's last day where it has no such day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def money(value: object) -> Decimal:
    """SQL sums come back as Decimal (or float on SQLite): pounds and pence, exactly."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def build(filters: Filters, today: date) -> list[Chart]:
    return [
        value_by_service(filters, today),
        value_by_area(filters, today),
        budget_by_year(filters),
        live_by_rag(filters, today),
        ending_soon(filters, today, ROWS_ON_PAGE),
        compliance_expiring(filters, today, ROWS_ON_PAGE),
    ]


def live_in(filters: Filters, quarter: int | None, today: date) -> list:
    """SQL conditions for the contracts live at some time in the chosen quarter (or the
    year), as at then rather than today: gone live (ended and terminated contracts were),
    started by the period's end and not ended before its start; a contract that has ended
    or been terminated was not live in a period starting after today, whatever end date
    it had. Today's status alone would put today's contracts in a past quarter's board
    pack and leave out the spend of contracts since ended."""
    period = filters.year.quarters()[quarter - 1] if quarter else filters.year
    conditions = [
        Contract.status.in_([ContractStatus.LIVE, ContractStatus.ENDED, ContractStatus.TERMINATED]),
        Contract.start_on <= period.ends_on,
        Contract.end_on >= period.starts_on,
    ]
    if period.starts_on > today:
        conditions.append(Contract.status == ContractStatus.LIVE)
    return conditions


def _spend_in_year(filters: Filters):
    """Spend reported in accepted returns for the chosen year (and quarter)."""
    conditions = [ReturnFact.code == "spend", ReturnFact.kind == "S",
                  ReturnFact.year == filters.year.label]  # fmt: skip
    if filters.quarter:
        conditions.append(ReturnFact.quarter == filters.quarter)
    return (
        select(ReturnFact.contract_id, func.sum(ReturnFact.value).label("spend"))
        .where(*conditions)
        .group_by(ReturnFact.contract_id)
        .subquery()
    )


def value_by_service(filters: Filters, today: date) -> Chart:
    spend = _spend_in_year(filters)
    rows = db.session.execute(
        select(
            ServiceCategory.name,
            func.count(Contract.id),
            func.sum(Contract.annual_value),
            func.sum(spend.c.spend),
        )
        .join(Contract, Contract.service_category_id == ServiceCategory.id)
        .outerjoin(spend, spend.c.contract_id == Contract.id)
        .where(*live_in(filters, filters.quarter, today), *filters.contract_conditions())
        .group_by(ServiceCategory.name)
        .order_by(ServiceCategory.name)
    ).all()
    table = DataTable(
        [
            "Service category",
            f"Contracts live in {_when(filters)}",
            "Annual value (£)",
            f"Spend {_when(filters)} (£)",
        ],
        [[name, count, money(value), money(spent)] for name, count, value, spent in rows],
        ["", "count", "money", "money"],
    )
    total_value = sum((row[2] for row in table.rows), Decimal(0))
    return Chart(
        "value-by-service",
        "Contract value and spend by service category",
        f"{sum(r[1] for r in table.rows)} contracts live in {_when(filters)} worth "
        f"£{total_value:,.0f} a year "
        f"across {len(rows)} service categories.",
        table,
        bar_figure([r[0] for r in table.rows],
                   {"Annual value": [r[2] for r in table.rows],
                    f"Spend {_when(filters)}": [r[3] for r in table.rows]},
                   y_title="£", horizontal=True),
    )  # fmt: skip


def value_by_area(filters: Filters, today: date) -> Chart:
    """A contract serving several areas has its value shared equally between them, so the
    areas add up to the whole portfolio."""
    spend = _spend_in_year(filters)
    shares = (
        select(contract_areas.c.contract_id, func.count().label("areas"))
        .group_by(contract_areas.c.contract_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Area.name,
            func.count(Contract.id),
            func.sum(Contract.annual_value / shares.c.areas),
            func.sum(spend.c.spend / shares.c.areas),
        )
        .join(contract_areas, contract_areas.c.area_id == Area.id)
        .join(Contract, Contract.id == contract_areas.c.contract_id)
        .join(shares, shares.c.contract_id == Contract.id)
        .outerjoin(spend, spend.c.contract_id == Contract.id)
        .where(*live_in(filters, filters.quarter, today), *filters.contract_conditions())
        .group_by(Area.name)
        .order_by(Area.name)
    ).all()
    table = DataTable(
        ["Area", f"Contracts live in {_when(filters)} serving it", "Share of annual value (£)",
         f"Share of spend {_when(filters)} (£)"],
        [[name, count, money(value), money(spent)] for name, count, value, spent in rows],
        ["", "count", "money", "money"],
    )  # fmt: skip
    biggest = max(table.rows, key=lambda row: row[2], default=None)
    summary = (
        f"{biggest[0]} has the largest share of annual value, £{biggest[2]:,.0f}."
        if biggest
        else "No contracts live in the period match these filters."
    )
    return Chart(
        "value-by-area",
        "Contract value and spend by area",
        summary,
        table,
        bar_figure([r[0] for r in table.rows],
                   {"Annual value": [r[2] for r in table.rows],
                    f"Spend {_when(filters)}": [r[3] for r in table.rows]},
                   y_title="£"),
        note="A contract serving several areas counts its value equally in each.",
    )  # fmt: skip


def budget_by_year(filters: Filters) -> Chart:
    """Allocation, approved and awaiting decision, for the chosen year and the two before."""
    years = [filters.year.previous().previous().label, filters.year.previous().label,
             filters.year.label]  # fmt: skip
    allocated = dict(
        db.session.execute(
            select(BudgetLine.year, func.sum(BudgetLine.allocation))
            .where(BudgetLine.year.in_(years))
            .group_by(BudgetLine.year)
        ).all()
    )
    committed: dict[tuple[str, str], object] = {
        (year, status): amount
        for year, status, amount in db.session.execute(
            select(DecisionAmount.year, FundingDecision.status, func.sum(DecisionAmount.amount))
            .join(FundingDecision, FundingDecision.id == DecisionAmount.decision_id)
            .where(
                DecisionAmount.year.in_(years),
                FundingDecision.status.in_([DecisionStatus.APPROVED, DecisionStatus.SUBMITTED]),
            )
            .group_by(DecisionAmount.year, FundingDecision.status)
        ).all()
    }
    rows = []
    for year in years:
        allocation = money(allocated.get(year))
        approved = money(committed.get((year, DecisionStatus.APPROVED)))
        pending = money(committed.get((year, DecisionStatus.SUBMITTED)))
        rows.append([year, allocation, approved, pending, allocation - approved - pending])
    table = DataTable(
        ["Financial year", "Budget allocated (£)", "Approved (£)", "Awaiting decision (£)",
         "Remaining (£)"],
        rows,
        ["", "money", "money", "money", "money"],
    )  # fmt: skip
    current = rows[-1]
    return Chart(
        "budget",
        "Committed and approved against budget",
        f"{current[0]}: £{current[2]:,.0f} approved and £{current[3]:,.0f} awaiting decision "
        f"of £{current[1]:,.0f} allocated; £{current[4]:,.0f} remains.",
        table,
        bar_figure(years, {"Allocated": [r[1] for r in rows], "Approved": [r[2] for r in rows],
                           "Awaiting decision": [r[3] for r in rows]}, y_title="£"),
        note="Budgets belong to the whole office: the area, service and provider filters do "
        "not apply to this chart.",
    )  # fmt: skip


# The year's RAG figures as this process last worked them out, under the revisions of
# what they are read from (pam.returns.revisions): a warm view reads one row instead of
# every rated fact of the year.
_BY_REVISIONS = Remembered(64)


def contract_rags(filters: Filters, quarter: int | None, today: date | None = None) -> dict:
    """Each contract's RAG for a quarter: its worst measure (Red if any measure is Red,
    Amber if any is Amber, otherwise Green), from the reporting summary; given today, of
    the contracts live in that quarter."""
    if quarter is None:
        return {}
    stamps = revisions.board_stamps(filters.year.label)
    key = ("contract rags", filters.year.label, quarter, *filters.contracts_key, today)
    rags = under_revisions(_BY_REVISIONS, stamps, key,
                           lambda: _work_out_contract_rags(filters, quarter, today))  # fmt: skip
    return dict(rags)  # the caller's own copy


def _work_out_contract_rags(filters: Filters, quarter: int, today: date | None) -> dict:
    rows = db.session.execute(
        select(ReturnFact.contract_id, func.max(RAG_ORDER))
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .where(
            ReturnFact.year == filters.year.label,
            ReturnFact.quarter == quarter,
            ReturnFact.kind == "K",
            ReturnFact.rag.is_not(None),
            *filters.contract_conditions(),
            *(live_in(filters, quarter, today) if today else []),
        )
        .group_by(ReturnFact.contract_id)
    ).all()
    return {contract_id: WORST[worst] for contract_id, worst in rows if worst}


def latest_quarter(filters: Filters) -> int | None:
    """The quarter asked for; else the year's latest quarter for which most contracts'
    returns are accepted (the newest quarter, still under review, would mislead)."""
    if filters.quarter:
        return filters.quarter
    stamps = revisions.board_stamps(filters.year.label)
    return under_revisions(_BY_REVISIONS, stamps, ("latest quarter", filters.year.label),
                           lambda: _work_out_latest_quarter(filters))  # fmt: skip


def _work_out_latest_quarter(filters: Filters) -> int | None:
    reporting = dict(
        db.session.execute(
            select(ReturnFact.quarter, func.count(ReturnFact.contract_id.distinct()))
            .where(ReturnFact.year == filters.year.label)
            .group_by(ReturnFact.quarter)
        ).all()
    )
    if not reporting:
        return None
    most = max(reporting.values())
    return max(quarter for quarter, count in reporting.items() if count * 2 >= most)


def live_by_rag(filters: Filters, today: date) -> Chart:
    quarter = latest_quarter(filters)
    live = db.session.scalar(
        select(func.count(Contract.id)).where(
            *live_in(filters, quarter, today), *filters.contract_conditions()
        )
    )
    counts = {"Green": 0, "Amber": 0, "Red": 0}
    for rag in contract_rags(filters, quarter, today).values():
        counts[rag] += 1
    counts["Not rated"] = live - sum(counts.values())
    when = f"Q{quarter} {filters.year.label}" if quarter else filters.year.label
    table = DataTable(["RAG", "Live contracts"], [[k, v] for k, v in counts.items()],
                      ["", "count"])  # fmt: skip
    return Chart(
        "live-by-rag",
        f"Live contracts by RAG, {when}",
        f"Of {live} live contracts: {counts['Green']} Green, {counts['Amber']} Amber, "
        f"{counts['Red']} Red and {counts['Not rated']} not rated.",
        table,
        bar_figure(list(counts), {rag: [count if rag == name else None for name in counts]
                                  for rag, count in counts.items()},
                   y_title="Contracts", stacked=True, colours=RAG_COLOURS),
        note="Contracts live at any time in the quarter. A contract's RAG is its worst "
        "measure in the quarter. Not rated: no accepted return with targets for it yet.",
    )  # fmt: skip


def ending_soon(filters: Filters, today: date, limit: int | None = None) -> Chart:
    """Live contracts ending within 12 months, soonest first; the first `limit` of them
    (the page: ROWS_ON_PAGE), with a link to the contract register for the rest."""
    conditions = [Contract.status == ContractStatus.LIVE,
                  Contract.end_on <= months_ahead(today, 12),
                  *filters.contract_conditions()]  # fmt: skip
    six = months_ahead(today, 6)
    ending, within_six = db.session.execute(
        select(func.count(), func.count(case((Contract.end_on <= six, 1)))).where(*conditions)
    ).one()
    rows = db.session.execute(
        select(Contract.reference, Contract.title, Organisation.name, Contract.end_on,
               Contract.annual_value)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(*conditions)
        .order_by(Contract.end_on, Contract.reference)
        .limit(limit)
    ).all()  # fmt: skip
    table = DataTable(
        ["Contract", "Title", "Provider", "Ends", "Within", "Annual value (£)"],
        [[ref, title, provider, end, "6 months" if end <= six else "12 months", money(value)]
         for ref, title, provider, end, value in rows],
        ["", "", "", "date", "", "money"],
    )  # fmt: skip
    cut = len(rows) < ending
    return Chart(
        "ending-soon",
        "Live contracts ending within 6 and 12 months",
        f"{within_six:,} end within 6 months and {ending - within_six:,} more within 12 months.",
        table,
        note=f"Showing the {len(rows):,} ending soonest of {ending:,}." if cut else "",
        more=("contracts.index", {"status": "live", "sort": "end", **_register_args(filters)},
              "Every live contract by end date, in the contract register") if cut else None,
    )  # fmt: skip


def compliance_expiring(filters: Filters, today: date, limit: int | None = None) -> Chart:
    """Compliance items of open contracts expired or expiring within the window, the
    soonest first; the first `limit` of them (the page), or all (the board pack)."""
    conditions = [Contract.status.in_([ContractStatus.LIVE, ContractStatus.MOBILISING]),
                  ComplianceItem.expires_on.is_not(None),
                  ComplianceItem.expires_on <= today + timedelta(days=COMPLIANCE_WINDOW_DAYS),
                  *filters.contract_conditions()]  # fmt: skip
    items, expired = db.session.execute(
        select(func.count(), func.count(case((ComplianceItem.expires_on < today, 1))))
        .join(Contract, Contract.id == ComplianceItem.contract_id)
        .where(*conditions)
    ).one()
    rows = db.session.execute(
        select(Contract.reference, Organisation.name, ComplianceItem.kind,
               ComplianceItem.expires_on)
        .join(Contract, Contract.id == ComplianceItem.contract_id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(*conditions)
        .order_by(ComplianceItem.expires_on, Contract.reference, ComplianceItem.id)
        .limit(limit)
    ).all()  # fmt: skip
    table = DataTable(
        ["Contract", "Provider", "Item", "Expires", "State"],
        [[ref, provider, COMPLIANCE_LABELS.get(kind, str(kind)), expires,
          "Expired" if expires < today else "Expiring"]
         for ref, provider, kind, expires in rows],
        ["", "", "", "date", ""],
    )  # fmt: skip
    cut = len(rows) < items
    shown = f"Showing the {len(rows):,} that expire soonest of {items:,}"
    return Chart(
        "compliance",
        f"Compliance items expired or expiring within {COMPLIANCE_WINDOW_DAYS} days",
        f"{expired:,} expired and {items - expired:,} expiring soon.",
        table,
        note=f"{shown}; the board pack lists them all." if cut else "",
    )


def _register_args(filters: Filters) -> dict[str, int]:
    """The contract register's arguments for the dashboard's area, service and provider."""
    chosen = {"area": filters.area_id, "service": filters.service_id,
              "provider": filters.provider_id}  # fmt: skip
    return {name: value for name, value in chosen.items() if value}


def _when(filters: Filters) -> str:
    return f"Q{filters.quarter} {filters.year.label}" if filters.quarter else filters.year.label


__all__ = ["RAG_COLOURS", "build"]
