"""Changing contracts. Every function takes the acting user, records the audit event and
flushes; the caller commits once.

The contract's value and end date are changed only by record_variation(), which keeps
the before and after on the variation itself as well as in the audit trail.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from pam.audit import services as audit
from pam.auth.models import Role, User
from pam.contracts.models import (
    STATUS_CHANGES,
    ComplianceItem,
    ComplianceKind,
    Contract,
    ContractDocument,
    ContractStatus,
    DocumentKind,
    PaymentScheduleEntry,
    Variation,
    VariationKind,
    months_between,
)
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.extensions import db
from pam.files import services as files
from pam.providers.models import Area, Organisation, ServiceCategory

# Fields an officer may change with an ordinary edit. Value and end date are absent on
# purpose (they change through variations); provider and reference identify the contract.
EDITABLE = (
    "title",
    "description",
    "service_category_id",
    "contract_manager_id",
    "annual_value",
    "extension_options",
    "max_extension_months",
)


def _text(fields: dict[str, Any], key: str) -> str:
    return (fields.get(key) or "").strip()


def _check_reference_free(reference: str) -> None:
    clash = db.session.scalar(
        select(Contract.id).where(func.lower(Contract.reference) == reference.lower())
    )
    if clash is not None:
        raise BusinessRuleError("A contract with this reference already exists", field="reference")


def _provider(provider_id: int | None) -> Organisation:
    provider = db.session.get(Organisation, provider_id) if provider_id else None
    if provider is None or not provider.is_provider:
        raise BusinessRuleError("Select the provider", field="provider_id")
    if not provider.is_active:
        raise BusinessRuleError(
            f"{provider.name} is archived: restore it before giving it a contract",
            field="provider_id",
        )
    return provider


def _check_service(service_category_id: int | None) -> None:
    if not service_category_id or db.session.get(ServiceCategory, service_category_id) is None:
        raise BusinessRuleError("Select the service", field="service_category_id")


def _check_manager(manager_id: int | None) -> None:
    if manager_id is None:
        return
    manager = db.session.get(User, manager_id)
    if manager is None or manager.role != Role.OFFICER or not manager.is_active_account:
        raise BusinessRuleError(
            "The contract manager must be an active commissioning officer",
            field="contract_manager_id",
        )


def _areas(area_ids: list[int] | None) -> list[Area]:
    if not area_ids:
        raise BusinessRuleError("Select at least one area", field="areas")
    areas = db.session.scalars(select(Area).where(Area.id.in_(area_ids))).all()
    if len(areas) != len(set(area_ids)):
        raise BusinessRuleError("One of the selected areas no longer exists: reload the page")
    return list(areas)


def _check_dates(start_on: date | None, end_on: date | None) -> None:
    if start_on is None:
        raise BusinessRuleError("Enter the start date", field="start_on")
    if end_on is None:
        raise BusinessRuleError("Enter the end date", field="end_on")
    if end_on <= start_on:
        raise BusinessRuleError("The end date must be after the start date", field="end_on")


def _months(value: Any) -> int:
    months = int(str(value).strip() or 0) if value is not None else 0
    if not 0 <= months <= 120:
        raise BusinessRuleError("Extensions can be up to 120 months", field="max_extension_months")
    return months


def _money(value: Any, field: str, label: str) -> Decimal:
    if value is None:
        raise BusinessRuleError(f"Enter the {label}", field=field)
    amount = Decimal(value)
    if amount < 0:
        raise BusinessRuleError(f"The {label} must be £0 or more", field=field)
    return amount


def create_contract(actor: Any, fields: dict[str, Any], area_ids: list[int] | None) -> Contract:
    """Add a contract to the register (status mobilising unless given)."""
    reference = _text(fields, "reference").upper()
    if not reference:
        raise BusinessRuleError("Enter the contract reference", field="reference")
    if not _text(fields, "title"):
        raise BusinessRuleError("Enter the contract title", field="title")
    _check_reference_free(reference)
    provider = _provider(fields.get("provider_id"))
    _check_service(fields.get("service_category_id"))
    _check_manager(fields.get("contract_manager_id"))
    _check_dates(fields.get("start_on"), fields.get("end_on"))
    total = _money(fields.get("total_value"), "total_value", "total value")
    annual = _money(fields.get("annual_value"), "annual_value", "annual value")
    contract = Contract(
        reference=reference,
        title=_text(fields, "title"),
        description=_text(fields, "description"),
        provider=provider,
        service_category_id=fields["service_category_id"],
        contract_manager_id=fields.get("contract_manager_id"),
        status=ContractStatus(fields.get("status") or ContractStatus.MOBILISING),
        start_on=fields["start_on"],
        original_end_on=fields["end_on"],
        end_on=fields["end_on"],
        original_total_value=total,
        total_value=total,
        annual_value=annual,
        extension_options=_text(fields, "extension_options"),
        max_extension_months=_months(fields.get("max_extension_months")),
        funding_decision_id=fields.get("funding_decision_id"),
        tender_id=fields.get("tender_id"),
        areas=_areas(area_ids),
    )
    db.session.add(contract)
    audit.record_create(actor, contract)
    return contract


def update_contract(
    actor: Any,
    contract: Contract,
    fields: dict[str, Any],
    area_ids: list[int] | None,
    expected_version: int | None = None,
) -> Contract:
    """Change a contract's descriptive details (not its value or end date)."""
    if expected_version is not None and expected_version != contract.version:
        raise StaleRecordError("contract")
    if not _text(fields, "title"):
        raise BusinessRuleError("Enter the contract title", field="title")
    _check_service(fields.get("service_category_id"))
    _check_manager(fields.get("contract_manager_id"))
    _money(fields.get("annual_value"), "annual_value", "annual value")
    before = audit.snapshot(contract)
    for key in EDITABLE:
        if key in fields:
            value = fields[key]
            setattr(contract, key, value.strip() if isinstance(value, str) else value)
    contract.max_extension_months = _months(contract.max_extension_months)
    if contract.status == ContractStatus.MOBILISING and fields.get("start_on"):
        _check_dates(fields["start_on"], contract.end_on)
        contract.start_on = fields["start_on"]
    contract.areas = _areas(area_ids)
    audit.record_update(actor, contract, before)
    return contract


def change_status(actor: Any, contract: Contract, status: ContractStatus, reason: str) -> Contract:
    """Move a contract along its life: mobilising -> live -> ended, or terminated."""
    status = ContractStatus(status)
    if status not in STATUS_CHANGES[contract.status]:
        raise BusinessRuleError(
            f"A {contract.status.label.lower()} contract cannot become {status.label.lower()}",
            field="status",
        )
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the status is changing", field="reason")
    before = audit.snapshot(contract)
    contract.status = status
    audit.record_update(
        actor,
        contract,
        before,
        action="status_change",
        summary=f"{before['status']} → {status.value}: {reason.strip()}",
    )
    return contract


def record_variation(actor: Any, contract: Contract, fields: dict[str, Any]) -> Variation:
    """Record a variation or extension, and apply it to the contract's value and end date."""
    if not contract.is_open:
        raise BusinessRuleError(
            f"This contract has {contract.status.value}: it can no longer be varied"
        )
    kind = VariationKind(fields["kind"])
    for key, label in (
        ("description", "what is changing"),
        ("reason", "why it is changing"),
        ("approved_by", "who approved it"),
    ):
        if not _text(fields, key):
            raise BusinessRuleError(f"Enter {label}", field=key)
    for key, label in (("effective_on", "the date it takes effect"), ("approved_on", "the date")):
        if fields.get(key) is None:
            raise BusinessRuleError(f"Enter {label}", field=key)
    value_change = Decimal(fields.get("value_change") or 0)
    new_end_on = fields.get("new_end_on") or contract.end_on
    if value_change == 0 and new_end_on == contract.end_on:
        raise BusinessRuleError(
            "A variation must change the value, the end date or both", field="value_change"
        )
    new_total = contract.total_value + value_change
    if new_total < 0:
        raise BusinessRuleError(
            "The value cannot fall below £0: check the change in value", field="value_change"
        )
    if new_end_on <= contract.start_on:
        raise BusinessRuleError("The new end date must be after the start date", field="new_end_on")
    if kind == VariationKind.EXTENSION:
        _check_extension(contract, new_end_on)
    variation = Variation(
        contract=contract,
        kind=kind,
        effective_on=fields["effective_on"],
        description=_text(fields, "description"),
        reason=_text(fields, "reason"),
        approved_by=_text(fields, "approved_by"),
        approved_on=fields["approved_on"],
        value_change=value_change,
        previous_end_on=contract.end_on,
        new_end_on=new_end_on,
        previous_total_value=contract.total_value,
        new_total_value=new_total,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(variation)
    audit.record_create(actor, variation)
    before = audit.snapshot(contract)
    contract.total_value = new_total
    contract.end_on = new_end_on
    audit.record_update(
        actor, contract, before, action="varied", summary=f"{kind.label}: {variation.description}"
    )
    return variation


def _check_extension(contract: Contract, new_end_on: date) -> None:
    if new_end_on <= contract.end_on:
        raise BusinessRuleError("An extension must move the end date later", field="new_end_on")
    if contract.max_extension_months <= 0:
        raise BusinessRuleError(
            "This contract has no extension options: record a variation instead", field="kind"
        )
    used = months_between(contract.original_end_on, new_end_on)
    if used > contract.max_extension_months:
        raise BusinessRuleError(
            f"This would extend the contract by {used} months in all; its options allow "
            f"{contract.max_extension_months}",
            field="new_end_on",
        )


# --- payment schedule -------------------------------------------------------------------


def add_payment(actor: Any, contract: Contract, fields: dict[str, Any]) -> PaymentScheduleEntry:
    if fields.get("due_on") is None:
        raise BusinessRuleError("Enter the date the payment is due", field="due_on")
    amount = _money(fields.get("amount"), "amount", "amount")
    if amount == 0:
        raise BusinessRuleError("The amount must be more than £0", field="amount")
    payment = PaymentScheduleEntry(
        contract=contract,
        due_on=fields["due_on"],
        amount=amount,
        description=_text(fields, "description"),
    )
    db.session.add(payment)
    audit.record_create(actor, payment)
    return payment


def mark_payment_paid(actor: Any, payment: PaymentScheduleEntry, paid_on: date) -> None:
    if payment.paid_on is not None:
        raise BusinessRuleError("This payment is already recorded as paid")
    before = audit.snapshot(payment)
    payment.paid_on = paid_on
    audit.record_update(actor, payment, before, action="paid")


def delete_payment(actor: Any, payment: PaymentScheduleEntry) -> None:
    if payment.paid_on is not None:
        raise BusinessRuleError("A paid payment stays on the schedule: it cannot be removed")
    audit.record_delete(actor, payment)
    payment.contract.payments.remove(payment)
    db.session.delete(payment)


# --- compliance and documents -----------------------------------------------------------


def save_compliance_item(
    actor: Any,
    contract: Contract,
    item: ComplianceItem | None,
    fields: dict[str, Any],
    evidence: tuple[str, bytes] | None = None,
) -> ComplianceItem:
    """Add (item None) or update a compliance item, with new evidence if uploaded."""
    kind = ComplianceKind(fields["kind"])
    if kind == ComplianceKind.OTHER and not _text(fields, "description"):
        raise BusinessRuleError("Describe what the provider must hold", field="description")
    creating = item is None
    before = {} if creating else audit.snapshot(item)
    if creating:
        item = ComplianceItem(contract=contract)
        db.session.add(item)
    item.kind = kind
    item.description = _text(fields, "description")
    item.expires_on = fields.get("expires_on")
    item.checked_on = fields.get("checked_on")
    if evidence is not None:
        filename, content = evidence
        item.evidence = files.store_file(actor, filename, content)
    if creating:
        audit.record_create(actor, item)
    else:
        audit.record_update(actor, item, before)
    return item


def add_document(
    actor: Any, contract: Contract, fields: dict[str, Any], upload: tuple[str, bytes]
) -> ContractDocument:
    filename, content = upload
    stored = files.store_file(actor, filename, content)
    document = ContractDocument(
        contract=contract,
        kind=DocumentKind(fields["kind"]),
        title=_text(fields, "title") or stored.filename,
        file=stored,
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(document)
    audit.record_create(actor, document)
    return document


def remove_document(actor: Any, document: ContractDocument) -> None:
    """Take a document off the contract (the stored file and its audit record remain)."""
    audit.record_delete(actor, document)
    document.contract.documents.remove(document)
    db.session.delete(document)
