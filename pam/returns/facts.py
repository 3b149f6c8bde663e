"""Keeping the reporting summary (ReturnFact) in step with accepted returns.

Dashboards, board packs and exports aggregate this one narrow table in SQL instead of
walking returns, versions and reviews in Python: the cost of a dashboard then depends on
the figures of the years asked for, not on the whole history. It is rebuilt for a return
when the return is accepted, and for a whole contract when its targets or tolerance
change or a measure it reports gets a new version in the dictionary (either may apply
to periods already reported: a new version's direction changes the RAG). `flask pam
rebuild-facts` rebuilds everything, e.g. after a restore.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import selectinload

from pam.contracts.models import Contract
from pam.core.periods import Period
from pam.extensions import db
from pam.outcomes.models import FrameworkMeasure, OutcomeFramework, Unit
from pam.outcomes.rag import rag_status
from pam.returns.models import ProviderReturn, ReturnFact, ReturnVersion

NUMERIC_SECTIONS = ("S", "Q", "E")


def refresh_return(provider_return: ProviderReturn) -> int:
    """Replace the return's facts with its accepted version's figures; returns the count."""
    db.session.execute(delete(ReturnFact).where(ReturnFact.return_id == provider_return.id))
    version = provider_return.accepted_version
    if version is None:
        return 0
    measures = _measures_by_code(provider_return.contract)
    facts = list(_facts_for(provider_return, version, measures))
    if facts:  # rows, not objects: nothing reads a fact back in this session
        db.session.execute(insert(ReturnFact.__table__), facts)
    return len(facts)


def refresh_contract(contract: Contract) -> int:
    """Rebuild every fact of one contract (after a target or tolerance change)."""
    returns = db.session.scalars(
        select(ProviderReturn)
        .where(ProviderReturn.contract_id == contract.id)
        .options(selectinload(ProviderReturn.versions), selectinload(ProviderReturn.reviews))
    ).all()
    return sum(refresh_return(provider_return) for provider_return in returns)


def rebuild_all() -> int:
    """Rebuild the whole summary from the returns (the source of truth)."""
    db.session.execute(delete(ReturnFact))
    contracts = db.session.scalars(
        select(Contract).options(
            selectinload(Contract.framework)
            .selectinload(OutcomeFramework.measures)
            .selectinload(FrameworkMeasure.targets)
        )
    ).all()
    return sum(refresh_contract(contract) for contract in contracts)


def _measures_by_code(contract: Contract) -> dict[str, FrameworkMeasure]:
    framework = contract.framework
    if framework is None:
        return {}
    return {measure.metric.code: measure for measure in framework.measures}


def _facts_for(provider_return: ProviderReturn, version: ReturnVersion, measures: dict):
    period = Period.parse(provider_return.period)
    placed = {
        "contract_id": provider_return.contract_id,
        "return_id": provider_return.id,
        "version_id": version.id,
        "year": period.year.label,
        "quarter": int(Period.quarter_containing(period.ends_on).part[1]),
        "period": provider_return.period,
        "period_end": period.ends_on,
    }
    for figure in version.figures:
        yield _measure_fact(placed, figure, measures, period)
    for key, text in version.sections.items():
        kind = key.split(":", 1)[0]
        value = _number(text)
        if kind in NUMERIC_SECTIONS and value is not None:
            yield _section_fact(placed, key, value)


def _measure_fact(placed: dict, figure: Any, measures: dict, period: Period) -> dict:
    """A measure's total (with its target and RAG) or one category of its breakdown."""
    _, code, *rest = figure.key.split(":")
    breakdown, category = [*rest, "", ""][:2]
    measure = measures.get(code)
    metric_version = measure.metric.version_on(period.starts_on) if measure else None
    target = rag = None
    if measure is not None and not breakdown:
        in_force = measure.target_for(period.starts_on)
        target = in_force.period_target if in_force else None
        status = rag_status(figure.value, target, metric_version.direction, measure.tolerance)
        rag = status.value if status else None
    return dict(
        **placed,
        key=figure.key,
        kind="K",
        code=code,
        breakdown=breakdown,
        category=category,
        metric_version_id=figure.metric_version_id,
        unit=(metric_version.unit.value if metric_version else Unit.COUNT.value),
        aggregation=(metric_version.aggregation.value if metric_version else "sum"),
        value=figure.value,
        target=target,
        rag=rag,
    )


def _section_fact(placed: dict, key: str, value: Decimal) -> dict:
    kind, code, *rest = key.split(":")
    unit = Unit.MONEY if kind == "S" else Unit.COUNT
    return dict(
        **placed,
        key=key,
        kind=kind,
        code=code,
        breakdown=code if kind == "E" else "",
        category=(rest[0] if rest else ""),
        metric_version_id=None,
        unit=unit.value,
        aggregation="sum",
        value=value,
        target=None,
        rag=None,
    )


def _number(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
