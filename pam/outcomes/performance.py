"""How a contract is performing: RAG per measure per period and for the year to date, early
warnings, and the annual rating proposed on the Procurement Act 2023 scale.

Only accepted returns count: a submitted return awaiting review is not yet a fact. Each
period is judged against the target in force for it and the tolerance of the framework.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pam.contracts.models import Contract
from pam.core.periods import FinancialYear, Period
from pam.extensions import db
from pam.outcomes.models import Aggregation, FrameworkMeasure, MetricVersion
from pam.outcomes.rag import Rag, aggregate, rag_status
from pam.outcomes.schedule import periods_in_year
from pam.outcomes.services import RATINGS  # noqa: F401 - the scale, in one place
from pam.returns.models import ProviderReturn, ReturnVersion


@dataclass
class Cell:
    period: Period
    actual: Decimal | None
    target: Decimal | None
    rag: Rag | None


@dataclass
class MeasureRow:
    measure: FrameworkMeasure
    version: MetricVersion
    cells: list[Cell] = field(default_factory=list)
    ytd_actual: Decimal | None = None
    ytd_target: Decimal | None = None
    ytd_rag: Rag | None = None

    @property
    def amber_twice(self) -> bool:
        """Amber in the two most recent periods with figures: an early warning."""
        rated = [cell.rag for cell in self.cells if cell.rag is not None]
        return len(rated) >= 2 and rated[-1] == rated[-2] == Rag.AMBER


@dataclass
class Performance:
    contract: Contract
    year: FinancialYear
    periods: list[Period]
    rows: list[MeasureRow]

    @property
    def warnings(self) -> list[MeasureRow]:
        return [row for row in self.rows if row.amber_twice]

    def rag_counts(self) -> Counter:
        return Counter(cell.rag for row in self.rows for cell in row.cells if cell.rag)

    def proposed_rating(self) -> str:
        return propose_rating(self.rag_counts())


def accepted_figures(contract: Contract) -> dict[str, dict[str, Decimal]]:
    """{period label: {key: value}} from each period's accepted version."""
    figures: dict[str, dict[str, Decimal]] = {}
    returns = db.session.scalars(
        select(ProviderReturn)
        .where(ProviderReturn.contract_id == contract.id)
        .options(  # every period's versions and reviews in three statements, not three each
            selectinload(ProviderReturn.reviews),
            selectinload(ProviderReturn.versions).selectinload(ReturnVersion.figures),
        )
    )
    for provider_return in returns:
        version = provider_return.accepted_version
        if version is not None:
            figures[provider_return.period] = {f.key: f.value for f in version.figures}
    return figures


def contract_performance(
    contract: Contract, year: FinancialYear, figures: dict[str, dict[str, Decimal]] | None = None
) -> Performance:
    """The year's table; `figures` (accepted_figures) when the caller already has them."""
    periods = periods_in_year(contract, year)
    figures = accepted_figures(contract) if figures is None else figures
    rows = []
    framework = contract.framework
    for measure in _measures_for(framework, periods, figures):
        version = measure.metric.version_on(year.starts_on)
        row = MeasureRow(measure, version)
        key = f"K:{measure.metric.code}"
        for period in periods:
            actual = figures.get(period.label, {}).get(key)
            target = measure.target_for(period.starts_on)
            target_value = target.period_target if target else None
            rag = rag_status(actual, target_value, version.direction, measure.tolerance)
            row.cells.append(Cell(period, actual, target_value, rag))
        reported = [cell for cell in row.cells if cell.actual is not None]
        row.ytd_actual = aggregate([c.actual for c in reported], version.aggregation)
        row.ytd_target = _ytd_target(reported, version.aggregation)
        row.ytd_rag = rag_status(
            row.ytd_actual, row.ytd_target, version.direction, measure.tolerance
        )
        rows.append(row)
    return Performance(contract, year, periods, rows)


def _measures_for(framework, periods: list[Period], figures: dict) -> list[FrameworkMeasure]:
    """The framework's measures, plus any since removed that have figures in these periods
    (removing a measure must not rewrite the history it was reported under)."""
    if framework is None:
        return []
    labels = {period.label for period in periods}
    reported = {key for label, values in figures.items() if label in labels for key in values}
    return [
        measure
        for measure in framework.measures
        if measure.is_active or f"K:{measure.metric.code}" in reported
    ]


def _ytd_target(reported: list[Cell], aggregation: Aggregation) -> Decimal | None:
    """The target for the periods reported so far, combined the way the actuals are."""
    targets = [cell.target for cell in reported]
    if not targets or any(target is None for target in targets):
        return None
    return aggregate(targets, aggregation)


def propose_rating(counts: Counter) -> str:
    """The Procurement Act 2023 rating the RAG history suggests (the officer decides).

    Good: at least 80% of measure-periods Green and none Red. Inadequate: 30% or more Red.
    Requires improvement: 15% or more Red, or 40% or more Amber or Red. Approaching
    target: anything between. Other: nothing rated yet.
    """
    total = sum(counts.values())
    if total == 0:
        return "Other"
    green, red = counts[Rag.GREEN] / total, counts[Rag.RED] / total
    amber_or_red = (counts[Rag.AMBER] + counts[Rag.RED]) / total
    if red >= 0.3:
        return "Inadequate"
    if red >= 0.15 or amber_or_red >= 0.4:
        return "Requires improvement"
    if green >= 0.8 and counts[Rag.RED] == 0:
        return "Good"
    return "Approaching target"


def years_of(contract: Contract, today: date) -> list[FinancialYear]:
    """The financial years of the contract up to the current one, newest first."""
    years = []
    year = FinancialYear.containing(contract.start_on)
    last = FinancialYear.containing(min(contract.end_on, today))
    while year <= last:
        years.append(year)
        year = year.next()
    return list(reversed(years))


def page_context(contract: Contract, year_slug: str | None, today: date) -> dict:
    """What the contract page shows of performance: the chosen year (default: the latest
    with accepted figures), its table, warnings, rating, escalations and the trend chart."""
    from pam.dashboards.figures import trend_figure
    from pam.outcomes.models import ContractRating, Escalation

    years = years_of(contract, today)
    figures = accepted_figures(contract)  # once for every year: a page's statements stay few
    by_year = {year: contract_performance(contract, year, figures) for year in years}
    with_figures = [
        year
        for year, perf in by_year.items()
        if any(cell.actual is not None for row in perf.rows for cell in row.cells)
    ]
    chosen = next((year for year in years if year.label.replace("/", "-") == year_slug), None)
    if chosen is None:
        chosen = with_figures[0] if with_figures else (years[0] if years else None)
    performance = by_year.get(chosen) if chosen else None
    ratings = {
        r.year: r
        for r in db.session.scalars(
            select(ContractRating).where(ContractRating.contract_id == contract.id)
        )
    }
    escalations = db.session.scalars(
        select(Escalation)
        .where(Escalation.contract_id == contract.id)
        .order_by(Escalation.opened_at.desc())
    ).all()
    history = [by_year[year].rows for year in reversed(years)]
    return {
        "years": years,
        "year": chosen,
        "performance": performance,
        "rating": ratings.get(chosen.label) if chosen else None,
        "escalations": escalations,
        "open_escalation": next((e for e in escalations if e.status.value == "open"), None),
        "trend_json": trend_figure(history) if with_figures else None,
    }
