"""What an evaluation report says, worked out from the records for its period.

A contract's report: performance against targets (by quarter and for the period), the
trend, outcomes for victims, equality monitoring and highlights from the returns'
narrative. A pilot's report: per site, sessions, cases, completion and satisfaction; and
cases by referral source and offence.

Reports are written to be shared beyond the officers. A contract's figures are shown or
suppressed as the suppression pattern of each financial year says (pam.dashboards
.patterns), the pattern the board's pages and packs read, so a report cannot be set
against a dashboard to reveal a small number; a total over a period the pattern does not
publish (part of a year) is shown only where the shown figures already give it away. A
pilot's panel figures have a pattern of their own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from pam.core.periods import FinancialYear
from pam.dashboards.aggregation import over_periods
from pam.dashboards.charts import SUPPRESSED, Chart, DataTable, bar_figure, line_figure
from pam.dashboards.outcomes import equality_rows
from pam.dashboards.patterns import YEAR, Family, YearPatterns
from pam.dashboards.suppression import Pattern, is_small
from pam.evaluations.models import EvaluationReport
from pam.extensions import db
from pam.outcomes.dictionary import current_names
from pam.outcomes.models import Aggregation, FrameworkMeasure
from pam.outcomes.rag import rag_status
from pam.programmes.models import PanelCase, PanelSession, PilotSite
from pam.returns.layout import slug
from pam.returns.models import ProviderReturn, ReturnFact, ReturnVersion


@dataclass
class ReportContent:
    charts: list[Chart] = field(default_factory=list)
    highlights: list[tuple[str, str, str]] = field(default_factory=list)  # period, kind, text


def build(report: EvaluationReport, threshold: int) -> ReportContent:
    if report.contract_id:
        return contract_content(report, threshold)
    return pilot_content(report, threshold)


# --- a contract ---------------------------------------------------------------------------


def _in_period(report: EvaluationReport) -> tuple:
    """The report's contract's facts for periods ending within the report's period."""
    return (
        ReturnFact.contract_id == report.contract_id,
        ReturnFact.period_end >= report.period_start,
        ReturnFact.period_end <= report.period_end,
    )


class _Years:
    """The report's periods in each financial year, and each year's suppression patterns."""

    def __init__(self, report: EvaluationReport, periods: list[tuple[str, str]], threshold: int):
        self.contract = {report.contract_id}
        self.threshold = threshold
        self.periods: dict[str, set[str]] = defaultdict(set)
        for year, period in periods:
            self.periods[year].add(period)
        self._patterns: dict[str, YearPatterns] = {}

    def patterns(self, year: str) -> YearPatterns:
        if year not in self._patterns:
            self._patterns[year] = YearPatterns(FinancialYear.parse(year), self.threshold)
        return self._patterns[year]

    def hidden(self, code: str, unit: str, facts: list[ReturnFact]) -> bool:
        """Is a figure built on these facts (of the report's contract) withheld?"""
        periods: dict[str, set[str]] = defaultdict(set)
        for fact in facts:
            periods[fact.year].add(fact.period)
        return any(
            self.patterns(year).unit_hidden(code, unit, self.contract, YEAR, chosen)
            for year, chosen in periods.items()
        )

    def figure(self, family: Family, part: str) -> tuple[Decimal, bool]:
        """A family's part over the whole report period: (value, suppressed?)."""
        value, hidden = Decimal(0), False
        for year, chosen in self.periods.items():
            figures = self.patterns(year).family(family)
            amount, withheld = figures.figure(self.contract, YEAR, part, chosen)
            value, hidden = value + amount, hidden or withheld
        return value, hidden


def contract_content(report: EvaluationReport, threshold: int) -> ReportContent:
    totals = db.session.scalars(
        select(ReturnFact)
        .where(*_in_period(report), ReturnFact.kind == "K", ReturnFact.breakdown == "")
        .order_by(ReturnFact.period_end, ReturnFact.code)
    ).all()
    returned = db.session.execute(
        select(ReturnFact.year, ReturnFact.period, ReturnFact.version_id)
        .where(*_in_period(report))
        .distinct()
        .order_by(ReturnFact.period)
    ).all()
    years = _Years(report, [(year, period) for year, period, _ in returned], threshold)
    measures = _measures(report)
    content = ReportContent()
    content.charts += [
        _against_targets(totals, current_names(), measures, report, years),
        _trend(totals, years),
        _equality(years),
    ]
    content.highlights = _highlights(returned)
    return content


def _measures(report: EvaluationReport) -> dict[str, FrameworkMeasure]:
    """The contract's measures by code (removed ones too: they keep their history)."""
    framework = report.contract.framework if report.contract else None
    return {m.metric.code: m for m in framework.measures} if framework else {}


def _label(fact: ReturnFact) -> str:
    return (
        f"{fact.year} Q{fact.quarter}" if fact.period.endswith(f"Q{fact.quarter}") else fact.period
    )


def _against_targets(totals: list[ReturnFact], names: dict, measures: dict,
                     report: EvaluationReport, years: _Years) -> Chart:  # fmt: skip
    """Each measure over the period: actual against target and RAG, combined over the
    periods as the measure's definition says (summed, averaged or the latest), rated with
    the measure's own tolerance, as on the contract's page."""
    by_code: dict[str, list[ReturnFact]] = defaultdict(list)
    for fact in totals:
        by_code[fact.code].append(fact)
    rows = []
    for code, facts in by_code.items():
        measure = measures.get(code)
        version = measure.metric.version_on(report.period_start) if measure else None
        aggregation = version.aggregation if version else Aggregation(facts[0].aggregation)
        actual = over_periods([f.value for f in facts], aggregation)
        targets = [f.target for f in facts]
        target = None if None in targets else over_periods(targets, aggregation)
        overall = None
        if measure is not None and target is not None:
            overall = rag_status(actual, target, version.direction, measure.tolerance)
        used = facts[-1:] if aggregation == Aggregation.LATEST else facts
        hidden = years.hidden(code, facts[0].unit, used)
        rags = [f.rag for f in facts if f.rag]
        rows.append([
            f"{code} {names.get(code, code)}",
            SUPPRESSED if hidden else actual.quantize(Decimal("0.1")),
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
        note="Counts are totals over the period, rates and days averages (or the latest, "
        "where the measure says so). The period's RAG uses each measure's own tolerance.",
    )


def _trend(totals: list[ReturnFact], years: _Years) -> Chart:
    """Each measure as a percentage of its target, period by period."""
    periods: list[str] = []
    series: dict[str, dict[str, Decimal | None]] = defaultdict(dict)
    for fact in totals:
        label = _label(fact)
        if label not in periods:
            periods.append(label)
        if years.hidden(fact.code, fact.unit, [fact]):
            series[fact.code][label] = SUPPRESSED  # with the target it would give the figure
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


def _equality(years: _Years) -> Chart:
    rows = equality_rows(years.figure)
    return Chart(
        "equality",
        "Equality monitoring",
        "People the service worked with over the period, by protected characteristic.",
        DataTable(["Characteristic", "Category", "People"], rows, ["", "", "count"]),
    )


def _highlights(returned: list) -> list[tuple[str, str, str]]:
    """Achievements and case studies from the accepted returns of the period."""
    sections = dict(
        db.session.execute(
            select(ReturnVersion.id, ReturnVersion.sections)
            .join(ProviderReturn, ProviderReturn.id == ReturnVersion.return_id)
            .where(ReturnVersion.id.in_([version for *_, version in returned]))
        ).all()
    )
    highlights = []
    for _year, period, version in returned:
        for key, kind in (("N:achievements", "Achievements"), ("N:case_study", "Case study")):
            text = (sections.get(version) or {}).get(key)
            if text:
                highlights.append((period, kind, text))
    return highlights


# --- a pilot ------------------------------------------------------------------------------

BREAKDOWNS = ((1, "Cases by referral source"), (2, "Cases by offence"))


def pilot_content(report: EvaluationReport, threshold: int) -> ReportContent:
    """Panels by site, and cases by referral source and by offence: three tables of the
    same cases, so one pattern over (site, referral source, offence) suppresses all three
    together (a site's cases with the breakdowns' totals would otherwise give one away)."""
    in_period = (
        PanelSession.held_on >= report.period_start,
        PanelSession.held_on <= report.period_end,
        PilotSite.pilot_id == report.pilot_id,
    )
    sites = db.session.execute(
        select(PilotSite.name, func.count(PanelSession.id.distinct()),
               func.sum(case((PanelCase.outcome_completed.is_(True), 1), else_=0)),
               func.sum(case((PanelCase.outcome_completed.is_not(None), 1), else_=0)),
               func.avg(PanelCase.victim_satisfaction), func.count(PanelCase.victim_satisfaction))
        .join(PanelSession, PanelSession.site_id == PilotSite.id)
        .outerjoin(PanelCase, PanelCase.session_id == PanelSession.id)
        .where(*in_period)
        .group_by(PilotSite.name)
        .order_by(PilotSite.name)
    ).all()  # fmt: skip
    cells = {
        (site, source, offence): count
        for site, source, offence, count in db.session.execute(
            select(PilotSite.name, PanelCase.referral_source, PanelCase.offence_category,
                   func.count(PanelCase.id))
            .join(PanelSession, PanelSession.id == PanelCase.session_id)
            .join(PilotSite, PilotSite.id == PanelSession.site_id)
            .where(*in_period)
            .group_by(PilotSite.name, PanelCase.referral_source, PanelCase.offence_category)
        )
    }  # fmt: skip
    pattern = _pilot_pattern(cells, threshold)
    content = ReportContent()
    content.charts.append(_sites(sites, cells, pattern))
    for position, title in BREAKDOWNS:
        content.charts.append(_pilot_breakdown(cells, pattern, position, title))
    return content


def _by(cells: dict, position: int) -> dict[str, list]:
    """The cells of each value of one dimension (0 site, 1 referral source, 2 offence)."""
    groups: dict[str, list] = defaultdict(list)
    for key in cells:
        groups[key[position]].append(key)
    return dict(sorted(groups.items()))


def _pilot_pattern(cells: dict, threshold: int) -> Pattern:
    pattern = Pattern(cells, threshold)
    everything = pattern.mask(cells)
    for position in (0, 1, 2):
        pattern.group(everything, [pattern.mask(keys) for keys in _by(cells, position).values()])
    return pattern


def _sites(sites: list, cells: dict, pattern: Pattern) -> Chart:
    """Sessions, cases, completion and satisfaction by site. A rate goes with its site's
    cases, or where those completed, those not, or those who answered are a small number
    (the rate with the cases would give it)."""
    threshold = pattern.threshold
    by_site = _by(cells, 0)
    rows = []
    for name, sessions, completed, known, satisfaction, answered in sites:
        site = pattern.mask(by_site.get(name, []))
        cases, blocked = pattern.value(site), pattern.hides(site)
        completion = round(100 * completed / known) if known else None
        if completion is not None and (blocked or is_small(completed, threshold)
                                       or is_small(known - completed, threshold)):  # fmt: skip
            completion = SUPPRESSED
        score = round(float(satisfaction), 1) if satisfaction is not None else None
        if score is not None and (blocked or is_small(answered, threshold)):
            score = SUPPRESSED
        rows.append([name, sessions, SUPPRESSED if blocked else int(cases), completion, score])
    everything = pattern.mask(cells)
    heard = "a small number of" if pattern.hides(everything) else int(pattern.value(everything))
    return Chart(
        "sites",
        "Panels by site",
        f"{sum(r[1] for r in rows)} panel sessions heard {heard} cases.",
        DataTable(["Site", "Panel sessions", "Cases", "Agreements completed (%)",
                   "Victim satisfaction (1 to 5)"], rows,
                  ["", "count", "count", "percent", "number"]),
        bar_figure([r[0] for r in rows], {"Cases": [r[2] for r in rows]}, y_title="Cases"),
    )  # fmt: skip


def _pilot_breakdown(cells: dict, pattern: Pattern, position: int, title: str) -> Chart:
    groups = {**_by(cells, position), "All cases": list(cells)}
    rows: list[list[Any]] = []
    for name, keys in groups.items():
        mask = pattern.mask(keys)
        rows.append([name, SUPPRESSED if pattern.hides(mask) else int(pattern.value(mask))])
    return Chart(
        slug(title),
        title,
        f"{len(groups) - 1} categories.",
        DataTable(["Category", "Cases"], rows, ["", "count"]),
    )
