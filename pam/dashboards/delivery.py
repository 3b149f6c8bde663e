"""The delivery dashboard: the RJ strategy delivery plan's progress and a summary of the
decision log, for the Criminal Justice Board."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from pam.core.progress import ProgressStatus
from pam.dashboards.charts import RAG_COLOURS, Chart, DataTable, bar_figure
from pam.dashboards.filters import Filters
from pam.dashboards.portfolio import money
from pam.decisions.models import DecisionAmount, DecisionStatus, DecisionType, FundingDecision
from pam.extensions import db
from pam.programmes.models import Milestone, Objective, PlanAction


def build(filters: Filters, today: date) -> list[Chart]:
    return [plan_progress(today), overdue_milestones(today), decision_summary(filters)]


def plan_progress(today: date) -> Chart:
    """Milestones per objective by status, with their RAG and how many are overdue."""
    overdue = case(
        ((Milestone.status != ProgressStatus.DONE) & (Milestone.due_on < today), 1), else_=0
    )
    rows = db.session.execute(
        select(
            Objective.title,
            func.count(Milestone.id),
            func.sum(case((Milestone.status == ProgressStatus.DONE, 1), else_=0)),
            func.sum(case((Milestone.status == ProgressStatus.IN_PROGRESS, 1), else_=0)),
            func.sum(case((Milestone.rag == "green", 1), else_=0)),
            func.sum(case((Milestone.rag == "amber", 1), else_=0)),
            func.sum(case((Milestone.rag == "red", 1), else_=0)),
            func.sum(overdue),
        )
        .join(PlanAction, PlanAction.objective_id == Objective.id)
        .join(Milestone, Milestone.action_id == PlanAction.id)
        .group_by(Objective.id, Objective.title, Objective.position)
        .order_by(Objective.position, Objective.id)
    ).all()
    table = DataTable(
        ["Objective", "Milestones", "Done", "In progress", "Green", "Amber", "Red", "Overdue"],
        [[title, *[int(value or 0) for value in figures]] for title, *figures in rows],
        ["", *["count"] * 7],
    )
    done = sum(row[2] for row in table.rows)
    total = sum(row[1] for row in table.rows)
    late = sum(row[7] for row in table.rows)
    return Chart(
        "plan-progress",
        "RJ strategy delivery plan: progress by objective",
        f"{done} of {total} milestones done; {late} overdue.",
        table,
        bar_figure(
            [row[0] if len(row[0]) <= 45 else row[0][:44] + "…" for row in table.rows],
            {"Green": [r[4] for r in table.rows], "Amber": [r[5] for r in table.rows],
             "Red": [r[6] for r in table.rows]},
            y_title="Milestones", stacked=True, horizontal=True, colours=RAG_COLOURS,
        ),
        note="Each milestone's RAG is its owner's latest assessment.",
    )  # fmt: skip


def overdue_milestones(today: date) -> Chart:
    rows = db.session.execute(
        select(Objective.title, Milestone.title, Milestone.owner, Milestone.due_on, Milestone.rag)
        .join(PlanAction, PlanAction.id == Milestone.action_id)
        .join(Objective, Objective.id == PlanAction.objective_id)
        .where(Milestone.status != ProgressStatus.DONE, Milestone.due_on < today)
        .order_by(Milestone.due_on)
    ).all()
    table = DataTable(
        ["Objective", "Milestone", "Owner", "Was due", "RAG"],
        [[objective, title, owner, due, rag.capitalize()]
         for objective, title, owner, due, rag in rows],
        ["", "", "", "date", "rag"],
    )  # fmt: skip
    return Chart(
        "overdue-milestones",
        "Overdue milestones",
        f"{len(rows)} milestone{'' if len(rows) == 1 else 's'} past the due date and not done.",
        table,
    )


def decision_summary(filters: Filters) -> Chart:
    """Decisions with money in the year, by type and outcome, and how much."""
    rows = db.session.execute(
        select(
            FundingDecision.decision_type,
            FundingDecision.status,
            func.count(FundingDecision.id.distinct()),
            func.sum(DecisionAmount.amount),
        )
        .join(DecisionAmount, DecisionAmount.decision_id == FundingDecision.id)
        .where(DecisionAmount.year == filters.year.label)
        .group_by(FundingDecision.decision_type, FundingDecision.status)
    ).all()
    by_type: dict[DecisionType, dict[DecisionStatus, tuple[int, Decimal]]] = {}
    for kind, status, count, amount in rows:
        by_type.setdefault(kind, {})[status] = (count, money(amount))
    statuses = list(DecisionStatus)
    table = DataTable(
        ["Type", *[f"{s.label} (number)" for s in statuses], "Approved (£)"],
        [[kind.label, *[by_type.get(kind, {}).get(s, (0, 0))[0] for s in statuses],
          by_type.get(kind, {}).get(DecisionStatus.APPROVED, (0, Decimal(0)))[1]]
         for kind in DecisionType],
        ["", *["count"] * len(statuses), "money"],
    )  # fmt: skip
    approved = sum((row[-1] for row in table.rows), Decimal(0))
    decided = sum(row[1 + statuses.index(DecisionStatus.APPROVED)] for row in table.rows)
    return Chart(
        "decisions",
        f"Funding decisions with money in {filters.year.label}",
        f"{decided} decision{'' if decided == 1 else 's'} approved, committing "
        f"£{approved:,.0f} in {filters.year.label}.",
        table,
        bar_figure(
            [row[0] for row in table.rows],
            {s.label: [row[1 + i] for row in table.rows] for i, s in enumerate(statuses)},
            y_title="Decisions",
            stacked=True,
        ),
        note="The full decision log, with every decision's record, is on the Decisions page.",
    )
