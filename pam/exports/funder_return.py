"""A funder's return: the figures a funder asks of the OPCC (for example the Ministry of
Justice victims' services return), added up across contracts through the metric
dictionary's mappings ("MoJ victims' services return: referrals received"), with every
contributing return listed so the figure can be traced.

The funder is entitled to the figures it funds, so the return is not suppressed; it is
an officer's download and is audited like every export.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from pam.contracts.models import Contract
from pam.core.periods import FinancialYear
from pam.exports.tabular import Sheet
from pam.extensions import db
from pam.outcomes.models import MetricVersion
from pam.providers.models import Organisation
from pam.returns.models import ReturnFact

RATE_UNITS = ("percentage", "days")


def funders() -> list[str]:
    """Every funder named in the dictionary's mappings, alphabetically."""
    names = set()
    for mappings in db.session.scalars(select(MetricVersion.funder_mappings)):
        names.update(
            mapping.split(":", 1)[0].strip() for mapping in mappings or [] if ":" in mapping
        )
    return sorted(names)


def _lines(funder: str) -> dict[int, str]:
    """{metric version id: the funder's return line it counts towards}."""
    lines = {}
    for version_id, mappings in db.session.execute(
        select(MetricVersion.id, MetricVersion.funder_mappings)
    ):
        for mapping in mappings or []:
            name, _, line = mapping.partition(":")
            if name.strip() == funder and line.strip():
                lines[version_id] = line.strip()
    return lines


def build(funder: str, year: FinancialYear, quarter: int | None) -> tuple[list[Sheet], int]:
    """The return's sheets (the lines, then the contributing figures) and the number of
    contributing returns."""
    lines = _lines(funder)
    query = (
        select(ReturnFact, Contract.reference, Organisation.name)
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .where(ReturnFact.year == year.label, ReturnFact.kind == "K", ReturnFact.breakdown == "",
               ReturnFact.metric_version_id.in_(lines))
        .order_by(Contract.reference, ReturnFact.period_end, ReturnFact.code)
    )  # fmt: skip
    if quarter:
        query = query.where(ReturnFact.quarter == quarter)
    values: dict[str, list[Decimal]] = defaultdict(list)
    units: dict[str, str] = {}
    codes: dict[str, set[str]] = defaultdict(set)
    contributing, returns = [], set()
    for fact, reference, provider in db.session.execute(query):
        line = lines[fact.metric_version_id]
        values[line].append(fact.value)
        units[line] = fact.unit
        codes[line].add(fact.code)
        returns.add(fact.return_id)
        contributing.append([line, reference, provider, fact.period, fact.code, fact.value])
    summary_rows = []
    for line in sorted(values):
        figures = values[line]
        rate = units[line] in RATE_UNITS
        figure = sum(figures, Decimal(0)) / len(figures) if rate else sum(figures, Decimal(0))
        summary_rows.append([line, figure.quantize(Decimal("0.1")),
                             "Average of the contracts' rates" if rate else "Total",
                             ", ".join(sorted(codes[line])), len(figures)])  # fmt: skip
    when = f"Q{quarter} {year.label}" if quarter else year.label
    summary = Sheet(
        "Return",
        ["Return line", "Figure", "How combined", "PAM measures", "Figures contributing"],
        summary_rows,
        ["", "number", "", "", "count"],
        notes=[f"{funder}, {when}: from {len(returns)} accepted returns."],
    )
    detail = Sheet(
        "Contributing returns",
        ["Return line", "Contract", "Provider", "Period", "Measure", "Figure"],
        contributing,
        ["", "", "", "", "", "number"],
    )
    return [summary, detail], len(returns)
