"""Changing the delivery plan and the risk register (each change audited)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from pam.audit import services as audit
from pam.core.exceptions import BusinessRuleError
from pam.core.progress import ProgressStatus
from pam.extensions import db
from pam.programmes.models import (
    Milestone,
    Objective,
    PanelCase,
    PanelSession,
    Pilot,
    PilotSite,
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
        status=ProgressStatus(status),
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


# --- pilots ----------------------------------------------------------------------------------

# References are codes like NJP-BCP-2026-014: letters, digits and hyphens, no spaces, so a
# name cannot be typed into one.
CASE_REFERENCE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,29}$")
OUTCOMES = (
    "Apology (verbal or written)",
    "Reparation to the victim",
    "Reparation to the community",
    "Agreement to change behaviour",
    "Referral to support (e.g. alcohol, mediation)",
    "No agreement reached",
)


def add_pilot(actor: Any, name: str, description: str, start_on: date) -> Pilot:
    pilot = Pilot(
        name=_text(name, "Enter the pilot's name", "name"),
        description=(description or "").strip(),
        start_on=start_on,
    )
    db.session.add(pilot)
    audit.record_create(actor, pilot)
    return pilot


def add_site(actor: Any, pilot: Pilot, area_id: int, name: str) -> PilotSite:
    site = PilotSite(pilot=pilot, area_id=area_id, name=_text(name, "Name the site", "name"))
    db.session.add(site)
    audit.record_create(actor, site)
    return site


def add_session(actor: Any, site: PilotSite, held_on: date | None, volunteers: int) -> PanelSession:
    if held_on is None:
        raise BusinessRuleError("Enter the date the panel met", field="held_on")
    if held_on < site.pilot.start_on:
        raise BusinessRuleError("The panel cannot have met before the pilot began", "held_on")
    session = PanelSession(site=site, held_on=held_on, volunteers=max(0, int(volunteers or 0)))
    db.session.add(session)
    audit.record_create(actor, session)
    return session


def add_case(actor: Any, session: PanelSession, fields: dict[str, Any]) -> PanelCase:
    from pam.outcomes.models import BREAKDOWNS

    reference = (fields.get("reference") or "").strip().upper()
    if not CASE_REFERENCE.match(reference):
        raise BusinessRuleError(
            "Use the case's anonymised reference, like NJP-BCP-2026-014 (letters, numbers and "
            "hyphens only: never a name)",
            field="reference",
        )
    if db.session.scalar(select(PanelCase.id).where(PanelCase.reference == reference)):
        raise BusinessRuleError("A case with this reference is already recorded", "reference")
    if fields.get("referral_source") not in BREAKDOWNS["referral_source"][1]:
        raise BusinessRuleError("Choose the referral source", field="referral_source")
    if fields.get("offence_category") not in BREAKDOWNS["crime_type"][1]:
        raise BusinessRuleError("Choose the offence category", field="offence_category")
    if fields.get("outcome_agreed") not in OUTCOMES:
        raise BusinessRuleError("Choose the outcome agreed", field="outcome_agreed")
    satisfaction = fields.get("victim_satisfaction")
    if satisfaction is not None and not 1 <= int(satisfaction) <= 5:
        raise BusinessRuleError("Satisfaction is from 1 to 5", field="victim_satisfaction")
    case = PanelCase(
        session=session,
        reference=reference,
        referral_source=fields["referral_source"],
        offence_category=fields["offence_category"],
        outcome_agreed=fields["outcome_agreed"],
        outcome_completed=fields.get("outcome_completed"),
        victim_satisfaction=int(satisfaction) if satisfaction is not None else None,
    )
    db.session.add(case)
    audit.record_create(actor, case)
    return case


def record_case_outcome(actor: Any, case: PanelCase, completed: bool) -> None:
    before = audit.snapshot(case)
    case.outcome_completed = completed
    audit.record_update(actor, case, before, action="outcome")


def pilot_summary(pilot: Pilot) -> list[dict[str, Any]]:
    """Per site: sessions, cases, completion rate and mean satisfaction (for evaluation)."""
    rows = []
    for site in pilot.sites:
        cases = [case for session in site.sessions for case in session.cases]
        known = [c for c in cases if c.outcome_completed is not None]
        scores = [c.victim_satisfaction for c in cases if c.victim_satisfaction is not None]
        rows.append(
            {
                "site": site,
                "sessions": len(site.sessions),
                "cases": len(cases),
                "completed_rate": round(100 * sum(c.outcome_completed for c in known) / len(known))
                if known
                else None,
                "satisfaction": round(sum(scores) / len(scores), 1) if scores else None,
            }
        )
    return rows
