"""What an evaluation report says, worked out from the records for its period.

A contract's report: performance against targets (by quarter and for the period), the
trend, outcomes for victims, equality monitoring and highlights from the returns'
narrative. A pilot's report: per site, sessions, cases, completion and satisfaction; and
cases by referral source and offence. Reports are written to be shared beyond the
officers, so counts of people are suppressed as on the board's pages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from pam.dashboards.charts import SUPPRESSED, Chart, DataTable, bar_figure, line_figure
from pam.dashboards.suppression import Suppression, suppress
from pam.evaluations.models import EvaluationReport
from pam.extensions import db
from pam.outcomes.dictionary import current_names
from pam.outcomes.models import Direction, MetricVersion
from pam.outcomes.rag import rag_status
from pam.programmes.models import PanelCase, PanelSession, PilotSite
from pam.returns.layout import EQUALITY, slug
from pam.returns.models import ProviderReturn, ReturnFact, ReturnVersion

RATE_UNITS = ("percentage", "days")


@dataclass
class ReportContent:
    charts: list[Chart] = field(default_factory=list)
    highlights: list[tuple[str, str, str]] = field(default_factory=list)  # period, kind, text


def build(report: EvaluationReport, threshold: int) -> ReportContent:
    if report.contract_id:
        return contract_content(report, threshold)
    return pilot_content(report, threshold)


# --- a contract ---------------------------------------------------------------------------


def _facts(report: EvaluationReport, *conditions: Any):
    return select(ReturnFact).where(
        ReturnFact.contract_id == report.contract_id,
        ReturnFact.period_end >= report.period_start,
        ReturnFact.period_end <= report.period_end,
        *conditions,
    )


def contract_content(report: EvaluationReport, threshold: int) -> ReportContent:
    totals = db.session.scalars(
        _facts(report, ReturnFact.kind == "K", ReturnFact.breakdown == "").order_by(
            ReturnFact.period_end, ReturnFact.code
        )
    ).all()
    names = current_names()
    hidden = _suppressed_counts(totals, threshold)
    content = ReportContent()
    content.charts += [_against_targets(totals, names, hidden), _trend(totals, hidden)]
    content.charts.append(_equality(report, threshold))
    content.highlights = _highlights(report)
    return content


def _suppressed_counts(totals: list[ReturnFact], threshold: int) -> Suppression:
    """A count measure's periods add up to its total for the report's period (both are
    shown, and a period's % of target with its target gives the count away): each
    measure's periods and total are suppressed as a group."""
    values: dict[tuple[str, str], Decimal] = {}
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for fact in totals:
        if fact.unit in RATE_UNITS:
            continue
        key = (fact.code, fact.period)
        values[key] = fact.value
        groups[fact.code].append(key)
    for code, keys in groups.items():
        values[(code, "total")] = sum((values[key] for key in keys), Decimal(0))
        keys.append((code, "total"))
    return suppress(values, list(groups.values()), threshold)


def _label(fact: ReturnFact) -> str:
    return (
        f"{fact.year} Q{fact.quarter}" if fact.period.endswith(f"Q{fact.quarter}") else fact.period
    )


def _against_targets(totals: list[ReturnFact], names: dict, hidden: Suppression) -> Chart:
    """Each measure over the period: actual against target and RAG, counts summed and
    rates averaged; the RAG for the period uses the tolerance-free rule (on target or not)
    when the measure's own tolerance is not to hand."""
    by_code: dict[str, list[ReturnFact]] = defaultdict(list)
    for fact in totals:
        by_code[fact.code].append(fact)
    rows = []
    for code, facts in by_code.items():
        rate = facts[0].unit in RATE_UNITS
        actuals = [f.value for f in facts]
        targets = [f.target for f in facts if f.target is not None]
        actual = sum(actuals, Decimal(0)) / len(actuals) if rate else sum(actuals, Decimal(0))
        target = None
        if len(targets) == len(facts):
            target = sum(targets, Decimal(0)) / len(targets) if rate else sum(targets, Decimal(0))
        rags = [f.rag for f in facts if f.rag]
        shown = SUPPRESSED if hidden.hides((code, "total")) else actual.quantize(Decimal("0.1"))
        direction = _direction(facts[0])
        overall = rag_status(actual, target, direction, Decimal(10)) if target is not None else None
        rows.append([
            f"{code} {names.get(code, code)}", shown,
            target.quantize(Decimal("0.1")) if target is not None else None,
            overall.label if overall else "Not rated",
            f"{rags.count('green')} G, {rags.count('amber')} A, {rags.count('red')} R",
        ])  # fmt: skip
    on_target = sum(1 for row in rows if row[3] == "Green")
    return Chart(
        "against-targets",
        "Performance against targets",
        f"{on_target} of {len(rows)} measures on or better than target over the period.",
        DataTable(
            ["Measure", "Actual", "Target", "RAG for the period", "Quarters by RAG"],
            rows,
            ["", "number", "number", "rag", ""],
        ),
        note="Counts are totals over the period; percentages and days are averages. The "
        "period's RAG allows the usual 10% tolerance.",
    )


def _direction(fact: ReturnFact) -> Direction:
    version_id = fact.metric_version_id
    version = db.session.get(MetricVersion, version_id) if version_id else None
    return version.direction if version else Direction.HIGHER


def _trend(totals: list[ReturnFact], hidden: Suppression) -> Chart:
    """Each measure as a percentage of its target, period by period."""
    periods: list[str] = []
    series: dict[str, dict[str, Decimal | None]] = defaultdict(dict)
    for fact in totals:
        label = _label(fact)
        if label not in periods:
            periods.append(label)
        if hidden.hides((fact.code, fact.period)):
            series[fact.code][label] = SUPPRESSED  # with the target it would give the count
        elif fact.target:
            series[fact.code][label] = (fact.value * 100 / fact.target).quantize(Decimal("1"))
    rows = [[code, *[values.get(p) for p in periods]] for code, values in series.items()]
    return Chart(
        "trend",
        "Trend: each measure as a percentage of its target",
        f"{len(rows)} measures over {len(periods)} periods; 100% is on target.",
        DataTable(["Measure", *periods], rows, ["", *["count"] * len(periods)]),
        line_figure(periods, {row[0]: row[1:] for row in rows}, y_title="% of target")
        if rows
        else None,
    )


def _equality(report: EvaluationReport, threshold: int) -> Chart:
    sums = dict(
        db.session.execute(
            select(ReturnFact.key, func.sum(ReturnFact.value))
            .where(
                ReturnFact.contract_id == report.contract_id,
                ReturnFact.period_end >= report.period_start,
                ReturnFact.period_end <= report.period_end,
                ReturnFact.kind == "E",
            )
            .group_by(ReturnFact.key)
        ).all()
    )
    rows: list[list[Any]] = []
    for characteristic, (title, names) in EQUALITY.items():
        keys = [f"E:{characteristic}:{slug(name)}" for name in names]
        values = {key: Decimal(str(sums.get(key, 0))) for key in keys}
        values["all"] = sum(values.values(), Decimal(0))
        hidden = suppress(values, [[*keys, "all"]], threshold)
        for key, name in zip([*keys, "all"], [*names, "All"], strict=True):
            rows.append([title, name, SUPPRESSED if hidden.hides(key) else int(values[key])])
    return Chart(
        "equality",
        "Equality monitoring",
        "People the service worked with over the period, by protected characteristic.",
        DataTable(["Characteristic", "Category", "People"], rows, ["", "", "count"]),
    )


def _highlights(report: EvaluationReport) -> list[tuple[str, str, str]]:
    """Achievements and case studies from the accepted returns of the period."""
    versions = db.session.execute(
        select(ReturnFact.period, ReturnFact.version_id)
        .where(
            ReturnFact.contract_id == report.contract_id,
            ReturnFact.period_end >= report.period_start,
            ReturnFact.period_end <= report.period_end,
        )
        .distinct()
        .order_by(ReturnFact.period)
    ).all()
    sections = dict(
        db.session.execute(
            select(ReturnVersion.id, ReturnVersion.sections)
            .join(ProviderReturn, ProviderReturn.id == ReturnVersion.return_id)
            .where(ReturnVersion.id.in_([version for _, version in versions]))
        ).all()
    )
    highlights = []
    for period, version in versions:
        for key, kind in (("N:achievements", "Achievements"), ("N:case_study", "Case study")):
            text = (sections.get(version) or {}).get(key)
            if text:
                highlights.append((period, kind, text))
    return highlights


# --- a pilot ------------------------------------------------------------------------------


def pilot_content(report: EvaluationReport, threshold: int) -> ReportContent:
    in_period = (
        PanelSession.held_on >= report.period_start,
        PanelSession.held_on <= report.period_end,
        PilotSite.pilot_id == report.pilot_id,
    )
    sites = db.session.execute(
        select(PilotSite.name, func.count(PanelSession.id.distinct()),
               func.count(PanelCase.id),
               func.sum(case((PanelCase.outcome_completed.is_(True), 1), else_=0)),
               func.sum(case((PanelCase.outcome_completed.is_not(None), 1), else_=0)),
               func.avg(PanelCase.victim_satisfaction),
               func.sum(PanelSession.volunteers))
        .join(PanelSession, PanelSession.site_id == PilotSite.id)
        .outerjoin(PanelCase, PanelCase.session_id == PanelSession.id)
        .where(*in_period)
        .group_by(PilotSite.name)
        .order_by(PilotSite.name)
    ).all()  # fmt: skip
    values = {name: cases for name, _s, cases, *_ in sites}
    values["all"] = sum(values.values())
    hidden = suppress(values, [list(values)], threshold)
    rows = []
    for name, sessions, cases, completed, known, satisfaction, _volunteers in sites:
        blocked = hidden.hides(name)
        rate = round(100 * completed / known) if known and not blocked else None
        rows.append([
            name, sessions, SUPPRESSED if blocked else cases,
            SUPPRESSED if blocked and known else rate,
            round(float(satisfaction), 1) if satisfaction is not None and not blocked else None,
        ])  # fmt: skip
    content = ReportContent()
    content.charts.append(Chart(
        "sites",
        "Panels by site",
        f"{sum(r[1] for r in rows)} panel sessions heard "
        f"{values['all'] if not hidden.hides('all') else 'a small number of'} cases.",
        DataTable(["Site", "Panel sessions", "Cases", "Agreements completed (%)",
                   "Victim satisfaction (1 to 5)"], rows,
                  ["", "count", "count", "percent", "number"]),
        bar_figure([r[0] for r in rows], {"Cases": [r[2] for r in rows]}, y_title="Cases"),
    ))  # fmt: skip
    for column, title in ((PanelCase.referral_source, "Cases by referral source"),
                          (PanelCase.offence_category, "Cases by offence")):  # fmt: skip
        content.charts.append(_pilot_breakdown(column, title, in_period, threshold))
    return content


def _pilot_breakdown(column, title: str, in_period, threshold: int) -> Chart:
    counts = dict(
        db.session.execute(
            select(column, func.count(PanelCase.id))
            .join(PanelSession, PanelSession.id == PanelCase.session_id)
            .join(PilotSite, PilotSite.id == PanelSession.site_id)
            .where(*in_period)
            .group_by(column)
            .order_by(column)
        ).all()
    )
    counts["All cases"] = sum(counts.values())
    hidden = suppress(counts, [list(counts)], threshold)
    rows = [[name, SUPPRESSED if hidden.hides(name) else count] for name, count in counts.items()]
    return Chart(
        slug(title),
        title,
        f"{len(counts) - 1} categories.",
        DataTable(["Category", "Cases"], rows, ["", "count"]),
    )
