"""Contracts, their variations, payment schedule, compliance items and documents.

A contract's value and end date change only through a Variation (dated, with what
changed, why and who approved it): `original_*` keep what was signed, and the current
`total_value` and `end_on` are the original plus every variation, kept in step by the
services. Nothing is silently overwritten.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.extensions import db, enum_column
from pam.providers.models import Area, Organisation, ServiceCategory

if TYPE_CHECKING:
    from pam.auth.models import User
    from pam.files.models import StoredFile
    from pam.outcomes.models import OutcomeFramework

MONEY = Numeric(14, 2)
EXPIRY_WARNING_DAYS = 60


class ContractStatus(enum.StrEnum):
    MOBILISING = "mobilising"
    LIVE = "live"
    ENDED = "ended"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Which status may follow which. Ended and terminated are final: a contract that
# continues is extended by a variation before it ends, not revived afterwards.
STATUS_CHANGES = {
    ContractStatus.MOBILISING: {ContractStatus.LIVE, ContractStatus.TERMINATED},
    ContractStatus.LIVE: {ContractStatus.ENDED, ContractStatus.TERMINATED},
    ContractStatus.ENDED: set(),
    ContractStatus.TERMINATED: set(),
}


class VariationKind(enum.StrEnum):
    VARIATION = "variation"
    EXTENSION = "extension"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ComplianceKind(enum.StrEnum):
    INSURANCE = "insurance"
    SAFEGUARDING_POLICY = "safeguarding_policy"
    DBS_CHECKS = "dbs_checks"
    DATA_SHARING_AGREEMENT = "data_sharing_agreement"
    QUALITY_MARK = "quality_mark"
    OTHER = "other"

    @property
    def label(self) -> str:
        return COMPLIANCE_LABELS[self]


COMPLIANCE_LABELS = {
    ComplianceKind.INSURANCE: "Insurance (public and employer's liability)",
    ComplianceKind.SAFEGUARDING_POLICY: "Safeguarding policy",
    ComplianceKind.DBS_CHECKS: "DBS checks for staff and volunteers",
    ComplianceKind.DATA_SHARING_AGREEMENT: "Data sharing agreement",
    ComplianceKind.QUALITY_MARK: "Restorative Service Quality Mark",
    ComplianceKind.OTHER: "Other",
}


class DocumentKind(enum.StrEnum):
    CONTRACT = "contract"
    SPECIFICATION = "specification"
    VARIATION_LETTER = "variation_letter"
    CORRESPONDENCE = "correspondence"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


contract_areas = Table(
    "contract_areas",
    db.metadata,
    Column("contract_id", ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id"), primary_key=True),
)


class Contract(Audited, db.Model):
    """A contract or grant agreement with a provider."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    contract_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ContractStatus] = mapped_column(
        enum_column(ContractStatus), default=ContractStatus.MOBILISING, index=True
    )
    start_on: Mapped[date] = mapped_column(Date)
    original_end_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date, index=True)
    original_total_value: Mapped[Decimal] = mapped_column(MONEY)
    total_value: Mapped[Decimal] = mapped_column(MONEY)
    annual_value: Mapped[Decimal] = mapped_column(MONEY)
    extension_options: Mapped[str] = mapped_column(String(300), default="")
    max_extension_months: Mapped[int] = mapped_column(Integer, default=0)
    # Where the contract came from: the funding decision and tender arrive with the
    # commissioning issue; their foreign keys are added then.
    funding_decision_id: Mapped[int | None] = mapped_column(Integer)
    tender_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    provider: Mapped[Organisation] = relationship()
    service_category: Mapped[ServiceCategory] = relationship()
    contract_manager: Mapped[User | None] = relationship()
    areas: Mapped[list[Area]] = relationship(secondary=contract_areas, order_by=Area.name)
    variations: Mapped[list[Variation]] = relationship(
        back_populates="contract", order_by="(Variation.effective_on, Variation.id)"
    )
    payments: Mapped[list[PaymentScheduleEntry]] = relationship(
        back_populates="contract", order_by="(PaymentScheduleEntry.due_on, PaymentScheduleEntry.id)"
    )
    compliance_items: Mapped[list[ComplianceItem]] = relationship(
        back_populates="contract", order_by="(ComplianceItem.kind, ComplianceItem.id)"
    )
    documents: Mapped[list[ContractDocument]] = relationship(
        back_populates="contract", order_by="ContractDocument.uploaded_at.desc()"
    )
    framework: Mapped[OutcomeFramework | None] = relationship(back_populates="contract")

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_extra(self) -> dict[str, Any]:
        return {"areas": [area.name for area in self.areas]}

    @property
    def is_open(self) -> bool:
        """Mobilising or live: still being delivered and managed."""
        return self.status in (ContractStatus.MOBILISING, ContractStatus.LIVE)

    @property
    def extended_months(self) -> int:
        """Months added to the original end date so far."""
        return months_between(self.original_end_on, self.end_on)

    def months_remaining(self, today: date) -> int:
        return max(0, months_between(today, self.end_on))

    def compliance_state(self, today: date) -> str | None:
        """The worst of its compliance items' states, or None when it has none."""
        states = {item.state(today) for item in self.compliance_items}
        for state in ("expired", "expiring", "no_evidence", "ok"):
            if state in states:
                return state
        return None

    def scheduled_payments_total(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), Decimal("0"))


class Variation(Audited, db.Model):
    """A dated change to a contract's value or end date: what, why and who approved it."""

    __tablename__ = "contract_variations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[VariationKind] = mapped_column(enum_column(VariationKind))
    effective_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_on: Mapped[date] = mapped_column(Date)
    value_change: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    previous_end_on: Mapped[date] = mapped_column(Date)
    new_end_on: Mapped[date] = mapped_column(Date)
    previous_total_value: Mapped[Decimal] = mapped_column(MONEY)
    new_total_value: Mapped[Decimal] = mapped_column(MONEY)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="variations")
    recorded_by: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return f"{self.kind.label} to {self.contract.reference}" if self.contract else "Variation"


class PaymentScheduleEntry(Audited, db.Model):
    """A payment due to the provider under the contract."""

    __tablename__ = "contract_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    description: Mapped[str] = mapped_column(String(200), default="")
    paid_on: Mapped[date | None] = mapped_column(Date)

    contract: Mapped[Contract] = relationship(back_populates="payments")

    def audit_label(self) -> str:
        reference = self.contract.reference if self.contract else ""
        return f"Payment due {self.due_on:%d/%m/%Y} on {reference}"

    def state(self, today: date) -> str:
        """'paid', 'overdue' or 'scheduled'."""
        if self.paid_on:
            return "paid"
        return "overdue" if self.due_on < today else "scheduled"


class ComplianceItem(Audited, db.Model):
    """Something the provider must hold for the contract, with its expiry and evidence."""

    __tablename__ = "contract_compliance_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[ComplianceKind] = mapped_column(enum_column(ComplianceKind))
    description: Mapped[str] = mapped_column(String(300), default="")
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    evidence_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    checked_on: Mapped[date | None] = mapped_column(Date)

    contract: Mapped[Contract] = relationship(back_populates="compliance_items")
    evidence: Mapped[StoredFile | None] = relationship()

    def audit_label(self) -> str:
        reference = self.contract.reference if self.contract else ""
        return f"{self.kind.label} for {reference}"

    def state(self, today: date) -> str:
        """'expired', 'expiring' (within 60 days), 'no_evidence' or 'ok'."""
        if self.expires_on is not None and self.expires_on < today:
            return "expired"
        if self.expires_on is not None and (self.expires_on - today).days <= EXPIRY_WARNING_DAYS:
            return "expiring"
        if self.evidence_file_id is None:
            return "no_evidence"
        return "ok"


class ContractDocument(Audited, db.Model):
    """A document filed against a contract (the signed contract, specification, letters)."""

    __tablename__ = "contract_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind))
    title: Mapped[str] = mapped_column(String(200))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="documents")
    file: Mapped[StoredFile] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return self.title


def months_between(start: date, end: date) -> int:
    """Whole months from start to end (negative when end is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day and months > 0:
        months -= 1
    return months
