"""The quarterly board pack (.xlsx): cover, summary, RAG matrix, a sheet per service with
native Excel charts, outcomes for victims, exceptions and the period's decisions.

It is for the boards, so every figure about people is shown or suppressed as the year's
suppression pattern (pam.dashboards.patterns) says: the pattern the board's dashboards
read, so no figure in the pack can be set against a page to reveal a small number. The
tables come from the same dashboard queries, so the pack and the pages always agree. The
download and `flask pam board-pack` call the same function.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select

from pam.audit.models import utcnow
from pam.contracts.models import Contract
from pam.core.periods import Period, as_utc
from pam.dashboards import ahead, delivery, outcomes, performance, portfolio
from pam.dashboards.aggregation import sql_by_unit
from pam.dashboards.charts import SUPPRESSED, Chart
from pam.dashboards.filters import Filters, supported_year
from pam.dashboards.patterns import YearPatterns, built_without_working_out, consistent
from pam.dashboards.suppression import SUPPRESSED_NOTE
from pam.decisions.models import DecisionAmount, DecisionStatus, FundingDecision
from pam.exports import kept
from pam.exports.tabular import (
    Sheet,
    Styles,
    new_workbook,
    print_setup,
    sheet_name,
    write_table,
)
from pam.extensions import db
from pam.outcomes.dictionary import current_names
from pam.providers.models import Organisation, ServiceCategory
from pam.returns.models import ReturnFact


def parse_period(label: str) -> Period:
    """'2025/26-Q2' or '2025-26-Q2' -> the quarter; ValueError with a plain message."""
    text = label.strip()
    if len(text) >= 7 and text[4] == "-" and text[:4].isdigit():
        text = f"{text[:4]}/{text[5:]}"
    period = Period.parse(text)
    supported_year(period.year.label)  # a year a pack can be made for
    if period.kind != "quarter":
        raise ValueError(f"'{label}' is not a quarter: board packs are quarterly, e.g. 2025/26-Q2")
    return period


def newest(period: Period, today: date) -> tuple[bytes, datetime | None]:
    """The board pack built now; or, where building it would have to work a suppression
    pattern out for a family larger than PAM_WORK_OUT_IN_REQUEST_CELLS (after a change,
    before the year's work-out: minutes for a national year, past any server's timeout)
    and a pack of the quarter was built before, that pack and when it began to read its
    figures (the year is queued to be worked out). A quarter's first pack is built,
    whatever it costs."""
    made_at, older = utcnow(), kept.newest("board-pack", period.label, "xlsx")
    up_to = current_app.config["PAM_WORK_OUT_IN_REQUEST_CELLS"]
    if older is None:
        body = build(period, today)
    elif (body := built_without_working_out(lambda: build(period, today), up_to)) is None:
        ahead.work_out_after_this_request(period.year)
        return older.body, as_utc(older.created_at)
    kept.keep_newest("board-pack", period.label, "xlsx", body, made_at)
    return body, None


def chart_sheet(chart: Chart, title: str | None = None) -> Sheet:
    """A dashboard chart's data table as a Sheet, its summary as the note above."""
    notes = [chart.summary] + ([chart.note] if chart.note else [])
    return Sheet(title or chart.title, chart.table.headers, chart.table.rows,
                 [_excel_format(f) for f in chart.table.formats], notes)  # fmt: skip


def _excel_format(fmt: str) -> str:
    return {"money": "pounds", "rag": "rag"}.get(fmt, fmt)


@consistent
def build(period: Period, today: date) -> bytes:
    """The board pack for a quarter, as .xlsx bytes."""
    threshold = current_app.config["PAM_SUPPRESSION_THRESHOLD"]
    quarter = int(period.part[1])
    filters = Filters(period.year, quarter=quarter)
    year_filters = Filters(period.year)
    buffer = io.BytesIO()
    workbook = new_workbook(buffer)
    workbook.set_properties({"title": f"Board pack {period.label}", "author": "PAM"})
    styles = Styles(workbook)
    names: list[str] = []

    def add(title: str):
        name = sheet_name(title, names)
        names.append(name)
        worksheet = workbook.add_worksheet(name)
        print_setup(worksheet, f"Board pack {period.label}: {title}")
        return worksheet

    cover = add("Cover")
    summary_charts = [
        portfolio.live_by_rag(filters, today),
        portfolio.value_by_service(filters, today),
        portfolio.budget_by_year(year_filters),
        delivery.plan_progress(today),
    ]
    patterns = YearPatterns(period.year, threshold)  # one pattern per family for the year
    services = _service_sheets(period, patterns)
    sections = ["Summary", "RAG matrix", *[title for title, _ in services],
                "Outcomes for victims", "Exceptions", "Decisions"]  # fmt: skip
    _cover(cover, styles, period, today, sections, threshold)

    _stacked(add("Summary"), styles, [chart_sheet(c) for c in summary_charts])
    matrix = performance.rag_matrix(year_filters)
    write_table(add("RAG matrix"), chart_sheet(matrix), styles)
    for title, sheet in services:
        worksheet = add(title)
        last = write_table(worksheet, sheet, styles)
        _service_chart(workbook, worksheet, sheet, title, period, last)
    people = outcomes.build(filters, threshold, patterns)
    _stacked(add("Outcomes for victims"), styles, [chart_sheet(c) for c in people])
    _stacked(add("Exceptions"), styles, _exceptions(filters, today, patterns))
    write_table(add("Decisions"), decisions_in(period), styles)
    workbook.close()
    return buffer.getvalue()


def _cover(ws, styles: Styles, period: Period, today: date, sections, threshold) -> None:
    organisation = current_app.config["PAM_ORGANISATION_NAME"]
    ws.set_column(0, 0, 100)
    ws.write_string(0, 0, organisation, styles.subtitle)
    ws.write_string(1, 0, f"Board pack: {period.name}", styles.title)
    ws.write_string(2, 0, f"Prepared by PAM on {today.day} {today:%B %Y}", styles.text)
    ws.write_string(4, 0, "Contents", styles.subtitle)
    for index, section in enumerate(sections):
        ws.write_string(5 + index, 0, f"{index + 1}. {section}", styles.text)
    row = 6 + len(sections)
    ws.write_string(row, 0, SUPPRESSED_NOTE.format(threshold=threshold), styles.wrap)
    ws.write_string(row + 1, 0, "Figures come from accepted returns only. RAG is shown in "
                    "words as well as colour.", styles.wrap)  # fmt: skip


def _stacked(ws, styles: Styles, sheets: list[Sheet]) -> None:
    """Several tables down one worksheet, each under its own heading."""
    row = 0
    widths: dict[int, int] = {}
    for sheet in sheets:
        ws.write_string(row, 0, sheet.title, styles.subtitle)
        row = write_table(ws, sheet, styles, row + 1, freeze=False) + 1
        for col, heading in enumerate(sheet.headers):
            longest = max([len(heading), *(len(str(r[col])) for r in sheet.rows)], default=8)
            widths[col] = max(widths.get(col, 8), min(longest + 2, 60))
    for col, width in widths.items():
        ws.set_column(col, col, width)


def _service_sheets(period: Period, patterns: YearPatterns) -> list[tuple[str, Sheet]]:
    """Per service category: each measure's actual and target by quarter, across the
    service's contracts (counts added, rates and days averaged), each actual shown or
    suppressed as the year's pattern says."""
    quarters = list(range(1, int(period.part[1]) + 1))
    names = current_names()
    rows = db.session.execute(
        select(ServiceCategory.id, ServiceCategory.name, ReturnFact.code, ReturnFact.unit,
               ReturnFact.quarter, sql_by_unit(ReturnFact.unit, ReturnFact.value),
               sql_by_unit(ReturnFact.unit, ReturnFact.target), func.count(ReturnFact.value),
               func.count(ReturnFact.target))
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .join(ServiceCategory, ServiceCategory.id == Contract.service_category_id)
        .where(ReturnFact.year == period.year.label, ReturnFact.kind == "K",
               ReturnFact.breakdown == "", ReturnFact.quarter.in_(quarters))
        .group_by(ServiceCategory.id, ServiceCategory.name, ReturnFact.code, ReturnFact.unit,
                  ReturnFact.quarter)
        .order_by(ServiceCategory.name, ReturnFact.code, ReturnFact.quarter)
    ).all()  # fmt: skip
    by_service: dict[str, dict[str, dict[int, tuple]]] = {}
    for service_id, service, code, unit, quarter, actual, target, figures, targeted in rows:
        contracts = patterns.index.matching(None, service_id, None)
        hidden = patterns.unit_hidden(code, unit, contracts, f"Q{quarter}")
        by_service.setdefault(service, {}).setdefault(code, {})[quarter] = (
            SUPPRESSED if hidden else _number(actual),
            _number(target) if targeted == figures else None,
        )
    sheets = []
    for service, measures in by_service.items():
        headers = ["Code", "Measure"]
        for quarter in quarters:
            headers += [f"Q{quarter} actual", f"Q{quarter} target"]
        table = []
        for code, cells in measures.items():
            row = [code, names.get(code, code)]
            for quarter in quarters:
                row += list(cells.get(quarter, (None, None)))
            table.append(row)
        formats = ["", "", *["number"] * (2 * len(quarters))]
        notes = [f"{service}: each measure across the service's contracts, {period.year.label} "
                 "to date. Counts are added up; percentages and days are averaged. No "
                 "target where some contracts have none."]  # fmt: skip
        sheets.append((service, Sheet(service, headers, table, formats, notes)))
    return sheets


def _number(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _service_chart(workbook, ws, sheet: Sheet, title: str, period: Period, last_row: int):
    """A native Excel column chart: the quarter's actual against target, per measure."""
    if not sheet.rows:
        return
    quarters = int(period.part[1])
    header_row = len(sheet.notes) + 1 if sheet.notes else 0
    first, final = header_row + 1, header_row + len(sheet.rows)
    actual_col = 2 + (quarters - 1) * 2
    name = ws.get_name()
    chart = workbook.add_chart({"type": "column"})
    for col, label, colour in ((actual_col, "Actual", "#1d70b8"),
                               (actual_col + 1, "Target", "#b1b4b6")):  # fmt: skip
        chart.add_series({
            "name": f"Q{quarters} {label.lower()}",
            "categories": [name, first, 0, final, 0],
            "values": [name, first, col, final, col],
            "fill": {"color": colour},
        })  # fmt: skip
    chart.set_title({"name": f"{title}: Q{quarters} {period.year.label}, actual and target"})
    chart.set_y_axis({"name": "Figure", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 340})
    ws.insert_chart(last_row + 1, 0, chart)


def _exceptions(filters: Filters, today: date, patterns: YearPatterns) -> list[Sheet]:
    """Red measures, late and missing returns, expiring compliance, overdue milestones."""
    red = db.session.execute(
        select(Contract.id, Contract.reference, Organisation.name, ReturnFact.code,
               ReturnFact.period, ReturnFact.value, ReturnFact.target, ReturnFact.unit)
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(ReturnFact.year == filters.year.label, ReturnFact.quarter == filters.quarter,
               ReturnFact.rag == "red")
        .order_by(Contract.reference, ReturnFact.code)
    ).all()  # fmt: skip
    red_sheet = Sheet(
        "Red measures",
        ["Contract", "Provider", "Measure", "Period", "Actual", "Target"],
        [[ref, provider, code, label, _red_actual(patterns, contract, code, unit, value,
                                                  filters.quarter), float(target)]
         for contract, ref, provider, code, label, value, target, unit in red],
        ["", "", "", "", "number", "number"],
        notes=["A contract's own count is not shown here: with the service totals it could "
               "reveal a small number. Officers see it on the contract's page. A rate built "
               "on a suppressed or small count is suppressed."],
    )  # fmt: skip
    late = [
        [due.reference, due.provider, due.period.label, due.due, due.state]
        for due in performance.return_states(filters, today)
        if due.state in ("Late", "Missing")
    ]
    late_sheet = Sheet("Late and missing returns",
                       ["Contract", "Provider", "Period", "Due", "State"], late,
                       ["", "", "", "date", ""])  # fmt: skip
    compliance = chart_sheet(portfolio.compliance_expiring(filters, today))
    milestones = chart_sheet(delivery.overdue_milestones(today))
    return [red_sheet, late_sheet, compliance, milestones]


def _red_actual(patterns: YearPatterns, contract: int, code: str, unit: str, value, quarter):
    """A rate or a number of days; never a count (words instead)."""
    if unit == "count":
        return "Below tolerance"
    if patterns.unit_hidden(code, unit, {contract}, f"Q{quarter}"):
        return SUPPRESSED
    return _number(value)


def decisions_in(period: Period) -> Sheet:
    """Decisions decided (approved, rejected or deferred) within the quarter."""
    decisions = db.session.execute(
        select(FundingDecision, func.sum(DecisionAmount.amount))
        .outerjoin(DecisionAmount, DecisionAmount.decision_id == FundingDecision.id)
        .where(FundingDecision.decided_on >= period.starts_on,
               FundingDecision.decided_on <= period.ends_on,
               FundingDecision.status != DecisionStatus.DRAFT)
        .group_by(FundingDecision.id)
        .order_by(FundingDecision.decided_on, FundingDecision.reference)
    ).all()  # fmt: skip
    return Sheet(
        f"Decisions {period.label}",
        ["Reference", "Title", "Type", "Outcome", "Amount (£)", "Decided on", "Decided by"],
        [[d.reference, d.title, d.decision_type.label, d.status.label, total, d.decided_on,
          d.decided_by.full_name if d.decided_by else ""]
         for d, total in decisions],
        ["", "", "", "", "money", "date", ""],
        notes=[f"Funding decisions decided in {period.name}."],
    )  # fmt: skip
