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
from pam.dashboards.aggregation import across_contracts, combine, over_periods
from pam.exports.tabular import Sheet
from pam.extensions import db
from pam.outcomes.models import Aggregation, MetricVersion
from pam.providers.models import Organisation
from pam.returns.models import ReturnFact


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


def _line_figure(by_measure: dict[tuple, list[ReturnFact]], unit: str) -> tuple[Decimal, str]:
    """Each contract's measure over the periods as the measure says (summed, averaged or
    the latest), then those together (counts added, rates averaged)."""
    per_measure = [
        over_periods([fact.value for fact in periods], periods[-1].aggregation)
        for periods in by_measure.values()
    ]
    adds_up = across_contracts(unit) == Aggregation.SUM
    return combine(per_measure, unit), "Total" if adds_up else "Average of the contracts' rates"


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
    facts: dict[str, dict[tuple, list[ReturnFact]]] = defaultdict(lambda: defaultdict(list))
    units: dict[str, str] = {}
    codes: dict[str, set[str]] = defaultdict(set)
    contributing, returns = [], set()
    for fact, reference, provider in db.session.execute(query):
        line = lines[fact.metric_version_id]
        facts[line][fact.contract_id, fact.code].append(fact)
        units[line] = fact.unit
        codes[line].add(fact.code)
        returns.add(fact.return_id)
        contributing.append([line, reference, provider, fact.period, fact.code, fact.value])
    summary_rows = []
    for line in sorted(facts):
        figure, how = _line_figure(facts[line], units[line])
        count = sum(len(periods) for periods in facts[line].values())
        summary_rows.append([line, figure.quantize(Decimal("0.1")), how,
                             ", ".join(sorted(codes[line])), count])  # fmt: skip
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
