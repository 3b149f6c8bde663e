"""Changing the metric dictionary and outcome frameworks (each change audited)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.contracts.models import Contract
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.core.periods import Period
from pam.core.progress import ProgressStatus
from pam.extensions import db
from pam.outcomes.models import (
    BREAKDOWNS,
    Aggregation,
    ContractRating,
    Direction,
    Escalation,
    EscalationAction,
    EscalationStatus,
    FrameworkMeasure,
    Frequency,
    Metric,
    MetricVersion,
    OutcomeFramework,
    Target,
    Unit,
)

# What makes two versions different: a change to any of these is a new version.
DEFINING_FIELDS = (
    "name",
    "definition",
    "counting_rule",
    "numerator",
    "denominator",
    "unit",
    "direction",
    "aggregation",
    "breakdowns",
    "funder_mappings",
)


def _clean_version_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = {
        "name": (fields.get("name") or "").strip(),
        "definition": (fields.get("definition") or "").strip(),
        "counting_rule": (fields.get("counting_rule") or "").strip(),
        "numerator": (fields.get("numerator") or "").strip(),
        "denominator": (fields.get("denominator") or "").strip(),
        "unit": Unit(fields["unit"]),
        "direction": Direction(fields["direction"]),
        "aggregation": Aggregation(fields["aggregation"]),
        "breakdowns": sorted(fields.get("breakdowns") or []),
        "funder_mappings": [
            line.strip() for line in (fields.get("funder_mappings") or []) if line.strip()
        ],
    }
    for key, label in (
        ("name", "the name"),
        ("definition", "the definition"),
        ("counting_rule", "the counting rule"),
    ):
        if not cleaned[key]:
            raise BusinessRuleError(f"Enter {label}", field=key)
    unknown = set(cleaned["breakdowns"]) - set(BREAKDOWNS)
    if unknown:
        raise BusinessRuleError("Select breakdowns from the list", field="breakdowns")
    if cleaned["unit"] == Unit.PERCENTAGE and not (cleaned["numerator"] and cleaned["denominator"]):
        raise BusinessRuleError(
            "A percentage needs its numerator and denominator defined", field="numerator"
        )
    if cleaned["unit"] == Unit.PERCENTAGE and cleaned["aggregation"] == Aggregation.SUM:
        raise BusinessRuleError(
            "Percentages cannot be added up over the year: choose average or latest",
            field="aggregation",
        )
    return cleaned


def create_metric(actor: Any, code: str, fields: dict[str, Any]) -> Metric:
    """Add a metric to the dictionary with its first version."""
    code = (code or "").strip().upper()
    if not code:
        raise BusinessRuleError("Enter a code", field="code")
    clash = db.session.scalar(select(Metric.id).where(func.upper(Metric.code) == code))
    if clash is not None:
        raise BusinessRuleError("That code is already used", field="code")
    cleaned = _clean_version_fields(fields)
    metric = Metric(code=code)
    db.session.add(metric)
    version = MetricVersion(
        metric=metric,
        number=1,
        valid_from=fields.get("valid_from") or date.today(),
        change_note=(fields.get("change_note") or "First version").strip(),
        created_by_id=getattr(actor, "id", None),
        **cleaned,
    )
    db.session.add(version)
    audit.record_create(actor, metric)
    audit.record_create(actor, version)
    return metric


def revise_metric(actor: Any, metric: Metric, fields: dict[str, Any]) -> MetricVersion:
    """Make a new version of a metric's definition. The old one stays, unchanged."""
    cleaned = _clean_version_fields(fields)
    current = metric.current
    if all(getattr(current, key) == cleaned[key] for key in DEFINING_FIELDS):
        raise BusinessRuleError("Nothing has changed: a new version must change something")
    note = (fields.get("change_note") or "").strip()
    if not note:
        raise BusinessRuleError("Say what changed and why", field="change_note")
    valid_from = fields.get("valid_from")
    if valid_from is None:
        raise BusinessRuleError("Enter the date the new version applies from", field="valid_from")
    if valid_from <= current.valid_from:
        raise BusinessRuleError(
            f"The new version must apply from after {current.valid_from:%d/%m/%Y}, "
            "when the current one began",
            field="valid_from",
        )
    version = MetricVersion(
        metric=metric,
        number=current.number + 1,
        valid_from=valid_from,
        change_note=note,
        created_by_id=getattr(actor, "id", None),
        **cleaned,
    )
    db.session.add(version)
    audit.record_create(actor, version, summary=f"New version of {metric.code}: {note}")
    _refresh_metric_facts(metric)
    return version


def _refresh_metric_facts(metric: Metric) -> None:
    """A new version may apply to periods already reported (it can start in the past):
    the stored unit, aggregation and RAG of the contracts reporting it are re-derived, so
    the dashboards do not keep rating by the old direction."""
    contracts = db.session.scalars(
        select(Contract)
        .join(OutcomeFramework, OutcomeFramework.contract_id == Contract.id)
        .join(FrameworkMeasure, FrameworkMeasure.framework_id == OutcomeFramework.id)
        .where(FrameworkMeasure.metric_id == metric.id)
    ).all()
    for contract in contracts:
        _refresh_facts(contract)


# --- outcome frameworks -----------------------------------------------------------------


def framework_for(actor: Any, contract: Contract) -> OutcomeFramework:
    """The contract's framework, created (quarterly, 10% tolerance) the first time it is needed."""
    framework = db.session.scalar(
        select(OutcomeFramework).where(OutcomeFramework.contract_id == contract.id)
    )
    if framework is None:
        framework = OutcomeFramework(contract=contract)
        db.session.add(framework)
        audit.record_create(actor, framework)
    return framework


def update_framework(
    actor: Any,
    framework: OutcomeFramework,
    fields: dict[str, Any],
    expected_version: int | None = None,
) -> OutcomeFramework:
    """Change the reporting schedule, due date rule, tolerance or proportionate reporting."""
    if expected_version is not None and expected_version != framework.version:
        raise StaleRecordError("outcome framework")
    tolerance = Decimal(fields["rag_tolerance_percent"])
    if not 0 <= tolerance <= 50:
        raise BusinessRuleError(
            "The tolerance must be between 0% and 50%", field="rag_tolerance_percent"
        )
    due_days = int(fields["due_days"])
    if not 1 <= due_days <= 90:
        raise BusinessRuleError("Returns must be due 1 to 90 days after the period", "due_days")
    frequency = Frequency(fields["frequency"])
    milestones = _milestones(framework, frequency, fields.get("milestones") or [])
    _check_returns_keep_their_periods(framework, frequency, milestones)
    before = audit.snapshot(framework)
    framework.frequency = frequency
    framework.milestones = [day.isoformat() for day in milestones]
    framework.rag_tolerance_percent = tolerance
    framework.due_days = due_days
    framework.due_in_working_days = bool(fields.get("due_in_working_days"))
    framework.is_proportionate = bool(fields.get("is_proportionate"))
    audit.record_update(actor, framework, before)
    _refresh_facts(framework.contract)
    return framework


def _milestones(framework: OutcomeFramework, frequency: Frequency, days: list[date]) -> list:
    """Milestone dates: needed for a milestone schedule, within the contract, no repeats."""
    if frequency != Frequency.MILESTONE:
        return []
    if not days:
        raise BusinessRuleError("Enter at least one milestone date", field="milestones")
    contract = framework.contract
    for day in days:
        if not contract.start_on <= day <= contract.end_on:
            raise BusinessRuleError(
                f"{day:%d/%m/%Y} is outside the contract ({contract.start_on:%d/%m/%Y} to "
                f"{contract.end_on:%d/%m/%Y})",
                field="milestones",
            )
    if len(set(days)) != len(days):
        raise BusinessRuleError("Each milestone date must be different", field="milestones")
    return sorted(days)


def _check_returns_keep_their_periods(
    framework: OutcomeFramework, frequency: Frequency, milestones: list[date]
) -> None:
    """A new schedule may not leave returns already made without their period."""
    from pam.outcomes.schedule import periods_on_schedule
    from pam.returns.models import ProviderReturn

    labels = {p.label for p in periods_on_schedule(framework.contract, frequency, milestones)}
    made = db.session.scalars(
        select(ProviderReturn.period).where(ProviderReturn.contract_id == framework.contract_id)
    ).all()
    orphans = sorted(set(made) - labels)
    if orphans:
        raise BusinessRuleError(
            f"There are returns already made for {', '.join(orphans[:3])}"
            f"{' and more' if len(orphans) > 3 else ''}: a schedule that drops their periods "
            "cannot be used. Keep those periods (or milestone dates) in the new schedule.",
            field="frequency",
        )


def check_figure(value: Decimal | None, unit: Unit, label: str, field: str) -> Decimal:
    """A target or actual that makes sense for the unit, or a message saying why not."""
    if value is None:
        raise BusinessRuleError(f"Enter {label}", field=field)
    if value < 0:
        raise BusinessRuleError(f"{label.capitalize()} must be 0 or more", field=field)
    if unit == Unit.PERCENTAGE and value > 100:
        raise BusinessRuleError(f"{label.capitalize()} must be a percentage from 0 to 100", field)
    if value >= Decimal("1000000000"):
        raise BusinessRuleError(f"{label.capitalize()} is too large: check it", field=field)
    if value != value.quantize(Decimal("0.01")):
        raise BusinessRuleError(f"{label.capitalize()} can have at most 2 decimal places", field)
    if unit == Unit.COUNT and value != value.to_integral_value():
        raise BusinessRuleError(f"{label.capitalize()} must be a whole number", field=field)
    return value


def add_measure(
    actor: Any,
    framework: OutcomeFramework,
    metric: Metric,
    period_target: Decimal | None,
    starting: Period,
    tolerance_percent: Decimal | None = None,
) -> FrameworkMeasure:
    """Add a dictionary metric to a contract's framework, with its first target."""
    if not metric.is_active:
        raise BusinessRuleError("That metric has been retired from the dictionary", "metric_id")
    existing = next((m for m in framework.measures if m.metric_id == metric.id), None)
    if existing is not None and existing.is_active:
        raise BusinessRuleError(f"{metric.code} is already in this framework", field="metric_id")
    check_figure(period_target, metric.current.unit, "the target", "period_target")
    if existing is not None:  # brought back after being removed: its history continues
        before = audit.snapshot(existing)
        existing.is_active = True
        audit.record_update(actor, existing, before, action="restore")
        measure = existing
    else:
        measure = FrameworkMeasure(
            framework=framework,
            metric=metric,
            position=len(framework.measures) + 1,
            tolerance_percent=tolerance_percent,
        )
        db.session.add(measure)
        audit.record_create(actor, measure)
    set_target(actor, measure, starting, period_target, reason="Target set when added")
    return measure


def set_target(
    actor: Any,
    measure: FrameworkMeasure,
    starting: Period,
    period_target: Decimal | None,
    reason: str = "",
    annual_target: Decimal | None = None,
) -> Target:
    """A new target from a period onwards. Earlier periods keep the target they had."""
    unit = measure.metric.current.unit
    check_figure(period_target, unit, "the target", "period_target")
    if measure.targets and not (reason or "").strip():
        raise BusinessRuleError("Say why the target is changing", field="reason")
    target = Target(
        measure=measure,
        effective_from=starting.starts_on,
        period_target=period_target,
        annual_target=annual_target,
        reason=(reason or "").strip(),
        set_by_id=getattr(actor, "id", None),
    )
    db.session.add(target)
    audit.record_create(
        actor, target, summary=f"{measure.metric.code} target {period_target} from {starting}"
    )
    db.session.flush()
    _refresh_facts(measure.framework.contract)
    return target


def _refresh_facts(contract: Contract) -> None:
    """A target or tolerance may apply to periods already reported: re-rate them."""
    from pam.returns import facts  # returns build on outcomes, not the other way round

    facts.refresh_contract(contract)


def remove_measure(actor: Any, measure: FrameworkMeasure) -> None:
    """Stop asking for a measure. Its targets and any reported figures are kept."""
    before = audit.snapshot(measure)
    measure.is_active = False
    audit.record_update(actor, measure, before, action="remove")


# --- ratings and escalations -----------------------------------------------------------


RATINGS = ("Good", "Approaching target", "Requires improvement", "Inadequate", "Other")


def confirm_rating(
    actor: Any, contract: Contract, year: str, proposed: str, rating: str, reason: str
) -> ContractRating:
    """Record the year's rating. Departing from the proposal needs a reason."""
    if rating not in RATINGS:
        raise BusinessRuleError("Choose a rating from the list", field="rating")
    if rating != proposed and not (reason or "").strip():
        raise BusinessRuleError(
            f"Say why the rating differs from the proposed '{proposed}'", field="reason"
        )
    existing = db.session.scalar(
        select(ContractRating).where(
            ContractRating.contract_id == contract.id, ContractRating.year == year
        )
    )
    before = audit.snapshot(existing) if existing else {}
    record = existing or ContractRating(contract_id=contract.id, year=year)
    record.proposed, record.rating, record.reason = proposed, rating, (reason or "").strip()
    record.confirmed_by_id = getattr(actor, "id", None)
    if existing is None:
        db.session.add(record)
        audit.record_create(actor, record, summary=f"{year} rated {rating}")
    else:
        audit.record_update(actor, record, before, summary=f"{year} re-rated {rating}")
    return record


def open_escalation(actor: Any, contract: Contract, reason: str) -> Escalation:
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the contract is being escalated", field="reason")
    open_already = db.session.scalar(
        select(Escalation.id).where(
            Escalation.contract_id == contract.id, Escalation.status == EscalationStatus.OPEN
        )
    )
    if open_already is not None:
        raise BusinessRuleError("This contract already has an open escalation")
    escalation = Escalation(
        contract_id=contract.id, reason=reason.strip(), opened_by_id=getattr(actor, "id", None)
    )
    db.session.add(escalation)
    audit.record_create(actor, escalation)
    return escalation


def add_action(
    actor: Any, escalation: Escalation, description: str, owner: str, due_on: date | None
) -> EscalationAction:
    if escalation.status != EscalationStatus.OPEN:
        raise BusinessRuleError("This escalation is closed")
    for value, field, message in (
        (description, "description", "Describe the action"),
        (owner, "owner", "Enter who owns the action"),
    ):
        if not (value or "").strip():
            raise BusinessRuleError(message, field=field)
    if due_on is None:
        raise BusinessRuleError("Enter the date it is due", field="due_on")
    action = EscalationAction(
        escalation=escalation, description=description.strip(), owner=owner.strip(), due_on=due_on
    )
    db.session.add(action)
    audit.record_create(actor, action)
    return action


def set_action_status(actor: Any, action: EscalationAction, status: str) -> None:
    before = audit.snapshot(action)
    action.status = ProgressStatus(status)
    audit.record_update(actor, action, before)


def close_escalation(actor: Any, escalation: Escalation, note: str) -> None:
    if escalation.status != EscalationStatus.OPEN:
        raise BusinessRuleError("This escalation is already closed")
    if not (note or "").strip():
        raise BusinessRuleError("Say why the escalation can close", field="closing_note")
    before = audit.snapshot(escalation)
    escalation.status = EscalationStatus.CLOSED
    escalation.closing_note = note.strip()
    escalation.closed_at = utcnow()
    audit.record_update(actor, escalation, before, action="close")
