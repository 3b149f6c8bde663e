"""Drafting, submitting and deciding funding decisions; budget lines and closed years.

Approving a contract award (or grant) creates its contract; approving a variation or
extension applies it to the contract, through the contracts' own services, in the same
transaction as the approval, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.contracts import services as contract_services
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.core.periods import FinancialYear
from pam.decisions.models import (
    BudgetLine,
    ClosedYear,
    DecisionAmount,
    DecisionNote,
    DecisionStatus,
    DecisionType,
    FundingDecision,
)
from pam.extensions import db

TEXT_FIELDS = ("title", "summary", "rationale", "options_considered", "risks", "conflicts_declared")


# --- budgets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetPosition:
    line: BudgetLine
    committed: Decimal  # approved decisions
    pending: Decimal  # submitted, awaiting a decision

    @property
    def remaining(self) -> Decimal:
        return self.line.allocation - self.committed


def budget_position(line: BudgetLine) -> BudgetPosition:
    totals = dict(
        db.session.execute(
            select(FundingDecision.status, func.coalesce(func.sum(DecisionAmount.amount), 0))
            .join(DecisionAmount.decision)
            .where(DecisionAmount.budget_line_id == line.id)
            .group_by(FundingDecision.status)
        ).all()
    )
    return BudgetPosition(
        line,
        Decimal(totals.get(DecisionStatus.APPROVED, 0)),
        Decimal(totals.get(DecisionStatus.SUBMITTED, 0)),
    )


def is_closed(year: str) -> bool:
    return db.session.scalar(select(ClosedYear.id).where(ClosedYear.year == year)) is not None


def save_budget_line(actor: Any, line: BudgetLine | None, fields: dict[str, Any]) -> BudgetLine:
    year = FinancialYear.parse(fields["year"]).label
    code = (fields.get("code") or "").strip().upper()
    if not code:
        raise BusinessRuleError("Enter a code for the budget line", field="code")
    clash = db.session.scalar(
        select(BudgetLine).where(BudgetLine.year == year, func.upper(BudgetLine.code) == code)
    )
    if clash is not None and clash is not line:
        raise BusinessRuleError(f"{year} already has a budget line {code}", field="code")
    allocation = Decimal(fields["allocation"])
    if allocation < 0:
        raise BusinessRuleError("The allocation must be £0 or more", field="allocation")
    if line is not None:
        committed = budget_position(line).committed
        if allocation < committed:
            raise BusinessRuleError(
                f"£{committed:,.2f} is already committed from this line: the allocation cannot "
                "be less",
                field="allocation",
            )
    if is_closed(year):
        raise BusinessRuleError(f"{year} is closed: its budget cannot change", field="year")
    before = audit.snapshot(line) if line else {}
    creating = line is None
    line = line or BudgetLine()
    line.year, line.code, line.allocation = year, code, allocation
    line.name = (fields.get("name") or "").strip()
    line.funder = (fields.get("funder") or "").strip()
    if not line.name or not line.funder:
        raise BusinessRuleError("Enter the line's name and funder", field="name")
    if creating:
        db.session.add(line)
        audit.record_create(actor, line)
    else:
        audit.record_update(actor, line, before)
    return line


def close_year(actor: Any, year: str) -> ClosedYear:
    label = FinancialYear.parse(year).label
    if is_closed(label):
        raise BusinessRuleError(f"{label} is already closed")
    waiting = db.session.scalar(
        select(func.count(FundingDecision.id.distinct()))
        .join(FundingDecision.amounts)
        .where(
            DecisionAmount.year == label,
            FundingDecision.status.in_([DecisionStatus.SUBMITTED, DecisionStatus.DRAFT]),
        )
    )
    if waiting:
        raise BusinessRuleError(
            f"{waiting} open decision(s) still commit money in {label}: decide or change them first"
        )
    closed = ClosedYear(year=label, closed_by_id=getattr(actor, "id", None))
    db.session.add(closed)
    audit.record_create(actor, closed, summary=f"Closed financial year {label}")
    return closed


# --- drafting ----------------------------------------------------------------------------


def next_reference(today: date) -> str:
    """OPCC/2025/014: the year and the next number in it."""
    prefix = f"OPCC/{today.year}/"
    existing = db.session.scalars(
        select(FundingDecision.reference).where(FundingDecision.reference.like(f"{prefix}%"))
    ).all()
    numbers = [int(ref.rsplit("/", 1)[1]) for ref in existing if ref.rsplit("/", 1)[1].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _amounts(rows: list[tuple[int | None, Any]]) -> list[DecisionAmount]:
    """The decision's amounts from (budget line id, amount) rows; blank rows are skipped."""
    amounts = []
    # Building the rows links them to their budget lines before the decision is in the
    # session; the checks below must not flush them half-made.
    with db.session.no_autoflush:
        for line_id, amount in rows:
            if line_id is None and amount in (None, ""):
                continue
            line = db.session.get(BudgetLine, line_id) if line_id else None
            if line is None:
                raise BusinessRuleError("Choose a budget line for each amount", field="amounts")
            if amount is None or Decimal(amount) <= 0:
                raise BusinessRuleError(
                    f"Enter an amount of more than £0 for {line.code} ({line.year})",
                    field="amounts",
                )
            if is_closed(line.year):
                raise BusinessRuleError(
                    f"{line.year} is closed: no new commitments can be made against it",
                    field="amounts",
                )
            amounts.append(DecisionAmount(budget_line=line, year=line.year, amount=Decimal(amount)))
    return amounts


def _apply_fields(decision: FundingDecision, fields: dict[str, Any]) -> None:
    for key in TEXT_FIELDS:
        if key in fields:
            setattr(decision, key, (fields.get(key) or "").strip())
    decision.decision_type = DecisionType(fields["decision_type"])
    decision.provider_id = fields.get("provider_id") or None
    decision.contract_id = fields.get("contract_id") or None
    decision.tender_id = fields.get("tender_id") or decision.tender_id
    decision.is_public_interest = bool(fields.get("is_public_interest"))
    decision.terms = {k: v for k, v in (fields.get("terms") or {}).items() if v not in (None, "")}
    if not decision.title:
        raise BusinessRuleError("Enter a title for the decision", field="title")


def create_decision(
    actor: Any, fields: dict[str, Any], amounts: list[tuple[int | None, Any]], today: date
) -> FundingDecision:
    decision = FundingDecision(
        reference=next_reference(today),
        drafted_by_id=getattr(actor, "id", None),
        status=DecisionStatus.DRAFT,
    )
    _apply_fields(decision, fields)
    decision.amounts = _amounts(amounts)
    db.session.add(decision)
    audit.record_create(actor, decision)
    return decision


def update_decision(
    actor: Any,
    decision: FundingDecision,
    fields: dict[str, Any],
    amounts: list[tuple[int | None, Any]],
    expected_version: int | None,
) -> FundingDecision:
    """Change a draft (or deferred) decision. A stale form is refused, its input kept."""
    if expected_version is not None and expected_version != decision.version:
        raise StaleRecordError("decision")
    if decision.status not in (DecisionStatus.DRAFT, DecisionStatus.DEFERRED):
        raise BusinessRuleError(
            f"A decision that is {decision.status.label.lower()} cannot be changed"
        )
    before = audit.snapshot(decision)
    _apply_fields(decision, fields)
    decision.amounts = _amounts(amounts)
    audit.record_update(actor, decision, before)
    return decision


def _note(actor: Any, decision: FundingDecision, action: str, comment: str) -> None:
    note = DecisionNote(
        decision=decision,
        action=action,
        comment=(comment or "").strip(),
        author_id=getattr(actor, "id", None),
    )
    db.session.add(note)
    audit.record_create(actor, note, summary=f"{action}: {note.comment}".strip(": "))


def _check_complete(decision: FundingDecision) -> None:
    wanted = (("rationale", "the rationale"), ("options_considered", "the options considered"))
    missing = [label for key, label in wanted if not getattr(decision, key)]
    if missing:
        raise BusinessRuleError(f"Before submitting, enter {' and '.join(missing)}")
    if not decision.amounts:
        raise BusinessRuleError("Before submitting, enter the amount by financial year")
    if decision.decision_type.creates_contract:
        terms = decision.terms or {}
        needed = ("contract_reference", "service_category_id", "start_on", "end_on")
        if not decision.provider_id or any(not terms.get(key) for key in needed):
            raise BusinessRuleError(
                "Before submitting an award, enter the provider and the contract's reference, "
                "service and dates"
            )
    if decision.decision_type.changes_contract and not decision.contract_id:
        raise BusinessRuleError("Before submitting, choose the contract being varied or extended")


def submit_decision(actor: Any, decision: FundingDecision, comment: str = "") -> None:
    if decision.status not in (DecisionStatus.DRAFT, DecisionStatus.DEFERRED):
        raise BusinessRuleError(
            f"This decision is {decision.status.label.lower()}: it cannot be submitted"
        )
    _check_complete(decision)
    for amount in decision.amounts:
        if is_closed(amount.year):
            raise BusinessRuleError(f"{amount.year} is closed: no new commitments can be made")
    before = audit.snapshot(decision)
    decision.status = DecisionStatus.SUBMITTED
    decision.submitted_by_id = getattr(actor, "id", None)
    decision.submitted_at = utcnow()
    audit.record_update(actor, decision, before, action="submit")
    _note(actor, decision, "submitted", comment)


# --- deciding ----------------------------------------------------------------------------


def over_budget(decision: FundingDecision) -> list[str]:
    """Lines this decision would take beyond their remaining budget, in words."""
    problems = []
    by_line: dict[int, Decimal] = {}
    for amount in decision.amounts:
        by_line[amount.budget_line_id] = (
            by_line.get(amount.budget_line_id, Decimal(0)) + amount.amount
        )
    for line_id, amount in by_line.items():
        position = budget_position(db.session.get(BudgetLine, line_id))
        if amount > position.remaining:
            problems.append(
                f"{position.line.code} ({position.line.year}) has £{position.remaining:,.2f} left; "
                f"this decision needs £{amount:,.2f}"
            )
    return problems


def decide(
    actor: Any,
    decision: FundingDecision,
    outcome: str,
    comment: str,
    today: date,
    override_reason: str = "",
) -> FundingDecision:
    """Approve, reject or defer a submitted decision. Never by its drafter or submitter."""
    outcome_status = DecisionStatus(outcome)
    if outcome_status not in (
        DecisionStatus.APPROVED,
        DecisionStatus.REJECTED,
        DecisionStatus.DEFERRED,
    ):
        raise BusinessRuleError("Choose approve, reject or defer", field="outcome")
    if decision.status != DecisionStatus.SUBMITTED:
        raise BusinessRuleError(
            f"This decision is {decision.status.label.lower()}: only a submitted decision can "
            "be decided"
        )
    actor_id = getattr(actor, "id", None)
    if actor_id is not None and actor_id in (decision.drafted_by_id, decision.submitted_by_id):
        raise BusinessRuleError(
            "You drafted or submitted this decision, so someone else must decide it"
        )
    if outcome_status != DecisionStatus.APPROVED and not (comment or "").strip():
        raise BusinessRuleError("Say why the decision is rejected or deferred", field="comment")
    if outcome_status == DecisionStatus.APPROVED:
        for amount in decision.amounts:
            if is_closed(amount.year):
                raise BusinessRuleError(f"{amount.year} is closed: no new commitments can be made")
        overs = over_budget(decision)
        if overs and not (override_reason or "").strip():
            raise BusinessRuleError(
                "This would exceed the budget (" + "; ".join(overs) + "). To approve it anyway, "
                "give a reason for the override",
                field="override_reason",
            )
    before = audit.snapshot(decision)
    decision.status = outcome_status
    decision.decided_by_id = actor_id
    decision.decided_at = utcnow()
    decision.decided_on = today
    if outcome_status == DecisionStatus.APPROVED:
        decision.budget_override_reason = (override_reason or "").strip()
    audit.record_update(actor, decision, before, action=outcome_status.value)
    _note(actor, decision, outcome_status.value, comment)
    if outcome_status == DecisionStatus.APPROVED:
        _carry_out(actor, decision, today)
    return decision


def _carry_out(actor: Any, decision: FundingDecision, today: date) -> None:
    """Create the awarded contract, or apply the variation or extension to its contract."""
    terms = decision.terms or {}
    if decision.decision_type.creates_contract:
        contract = contract_services.create_contract(
            actor,
            {
                "reference": terms["contract_reference"],
                "title": decision.title,
                "description": decision.summary,
                "provider_id": decision.provider_id,
                "service_category_id": int(terms["service_category_id"]),
                "contract_manager_id": decision.drafted_by_id,
                "start_on": date.fromisoformat(terms["start_on"]),
                "end_on": date.fromisoformat(terms["end_on"]),
                "total_value": decision.total,
                "annual_value": Decimal(terms.get("annual_value") or decision.total),
                "funding_decision_id": decision.id,
                "tender_id": decision.tender_id,
                "max_extension_months": int(terms.get("max_extension_months") or 0),
            },
            [int(area_id) for area_id in terms.get("area_ids", [])],
        )
        db.session.flush()
        if decision.tender_id:
            from pam.market import tender_services
            from pam.market.models import Tender

            tender = db.session.get(Tender, decision.tender_id)
            if tender is not None:
                tender_services.mark_awarded(actor, tender, decision.reference)
        before = audit.snapshot(decision)
        decision.contract_id = contract.id
        audit.record_update(
            actor,
            decision,
            before,
            action="contract_created",
            summary=f"Created contract {contract.reference}",
        )
    elif decision.decision_type.changes_contract:
        extension = decision.decision_type == DecisionType.EXTENSION
        new_end = terms.get("new_end_on")
        approver = getattr(actor, "full_name", None) or actor.audit_label()
        contract_services.record_variation(
            actor,
            decision.contract,
            {
                "kind": "extension" if extension else "variation",
                "description": decision.summary or decision.title,
                "reason": decision.rationale,
                "value_change": decision.total,
                "new_end_on": date.fromisoformat(new_end) if new_end else None,
                "effective_on": today,
                "approved_by": f"{approver} ({decision.reference})",
                "approved_on": today,
            },
        )
