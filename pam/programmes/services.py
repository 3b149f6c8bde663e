"""Changing the delivery plan and the risk register (each change audited)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pam.audit import services as audit
from pam.core.exceptions import BusinessRuleError
from pam.extensions import db
from pam.programmes.models import (
    Milestone,
    MilestoneStatus,
    Objective,
    PlanAction,
    ProgressUpdate,
    Risk,
    RiskReview,
)

RAGS = ("green", "amber", "red")


def _text(value: Any, message: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BusinessRuleError(message, field=field)
    return text


def add_objective(actor: Any, title: str) -> Objective:
    objective = Objective(title=_text(title, "Enter the objective", "title"))
    db.session.add(objective)
    audit.record_create(actor, objective)
    return objective


def add_action(actor: Any, objective: Objective, title: str) -> PlanAction:
    action = PlanAction(objective=objective, title=_text(title, "Enter the action", "title"))
    db.session.add(action)
    audit.record_create(actor, action)
    return action


def add_milestone(
    actor: Any, action: PlanAction, title: str, owner: str, due_on: date | None
) -> Milestone:
    if due_on is None:
        raise BusinessRuleError("Enter the due date", field="due_on")
    milestone = Milestone(
        action=action,
        title=_text(title, "Enter the milestone", "title"),
        owner=_text(owner, "Enter the owner", "owner"),
        due_on=due_on,
    )
    db.session.add(milestone)
    audit.record_create(actor, milestone)
    return milestone


def record_progress(
    actor: Any, milestone: Milestone, written_on: date, note: str, status: str, rag: str
) -> ProgressUpdate:
    """A dated progress update, which also sets the milestone's status and RAG."""
    if rag not in RAGS:
        raise BusinessRuleError("Choose green, amber or red", field="rag")
    update = ProgressUpdate(
        milestone=milestone,
        written_on=written_on,
        note=_text(note, "Say what progress has been made", "note"),
        status=MilestoneStatus(status),
        rag=rag,
        author_id=getattr(actor, "id", None),
    )
    db.session.add(update)
    audit.record_create(actor, update)
    before = audit.snapshot(milestone)
    milestone.status, milestone.rag = update.status, rag
    audit.record_update(actor, milestone, before, action="progress")
    return update


def _scale(value: Any, field: str) -> int:
    number = int(value) if str(value).isdecimal() else 0
    if not 1 <= number <= 5:
        raise BusinessRuleError(f"{field.capitalize()} must be from 1 to 5", field=field)
    return number


def add_risk(actor: Any, fields: dict[str, Any]) -> Risk:
    if fields.get("review_on") is None:
        raise BusinessRuleError("Enter when it will next be reviewed", field="review_on")
    risk = Risk(
        title=_text(fields.get("title"), "Describe the risk", "title"),
        subject=_text(fields.get("subject"), "Say what it affects", "subject"),
        contract_id=fields.get("contract_id"),
        likelihood=_scale(fields.get("likelihood"), "likelihood"),
        impact=_scale(fields.get("impact"), "impact"),
        owner=_text(fields.get("owner"), "Enter the owner", "owner"),
        mitigations=(fields.get("mitigations") or "").strip(),
        review_on=fields["review_on"],
    )
    db.session.add(risk)
    audit.record_create(actor, risk)
    return risk


def review_risk(actor: Any, risk: Risk, fields: dict[str, Any], today: date) -> RiskReview:
    """Re-score a risk: the review keeps the scores as they were judged that day."""
    review = RiskReview(
        risk=risk,
        reviewed_on=today,
        likelihood=_scale(fields.get("likelihood"), "likelihood"),
        impact=_scale(fields.get("impact"), "impact"),
        note=_text(fields.get("note"), "Say what the review found", "note"),
        reviewer_id=getattr(actor, "id", None),
    )
    if fields.get("review_on") is None or fields["review_on"] <= today:
        raise BusinessRuleError("Set the next review date, after today", field="review_on")
    db.session.add(review)
    audit.record_create(actor, review)
    before = audit.snapshot(risk)
    risk.likelihood, risk.impact = review.likelihood, review.impact
    risk.review_on = fields["review_on"]
    risk.mitigations = (fields.get("mitigations") or risk.mitigations).strip()
    risk.is_closed = bool(fields.get("close"))
    audit.record_update(actor, risk, before, action="review")
    return review
