"""Funding decisions and the budgets they commit.

A FundingDecision records a commitment of public money: what and why, the options
considered, the amount split by financial year across budget lines, who drafted it and who
decided. Its workflow is draft -> submitted -> approved, rejected or deferred, and whoever
drafted or submitted it can never approve it (separation of duties, enforced in
pam.auth.permissions and again in the service). Budget lines belong to a financial year;
a closed year takes no new commitments.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.extensions import db, enum_column

if TYPE_CHECKING:
    from pam.auth.models import User
    from pam.contracts.models import Contract
    from pam.providers.models import Organisation

MONEY = Numeric(14, 2)


class ClosedYear(Audited, db.Model):
    """A financial year whose accounts are closed: no new commitments against it."""

    __tablename__ = "closed_years"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[str] = mapped_column(String(7), unique=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def audit_label(self) -> str:
        return f"Financial year {self.year}"


class BudgetLine(Audited, db.Model):
    """Money available in a financial year from one funder for one purpose."""

    __tablename__ = "budget_lines"
    __table_args__ = (UniqueConstraint("year", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[str] = mapped_column(String(7), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    funder: Mapped[str] = mapped_column(String(200))
    allocation: Mapped[Decimal] = mapped_column(MONEY)

    amounts: Mapped[list[DecisionAmount]] = relationship(back_populates="budget_line")

    def audit_label(self) -> str:
        return f"{self.code} {self.name} ({self.year})"


class DecisionType(enum.StrEnum):
    CONTRACT_AWARD = "contract_award"
    GRANT = "grant"
    VARIATION = "variation"
    EXTENSION = "extension"
    BUDGET_ALLOCATION = "budget_allocation"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def creates_contract(self) -> bool:
        return self in (DecisionType.CONTRACT_AWARD, DecisionType.GRANT)

    @property
    def changes_contract(self) -> bool:
        return self in (DecisionType.VARIATION, DecisionType.EXTENSION)


class DecisionStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    DEFERRED = "deferred"

    @property
    def label(self) -> str:
        return {"submitted": "Awaiting decision"}.get(self.value, self.value.capitalize())


class FundingDecision(Audited, db.Model):
    """The record of a decision to commit public money."""

    __tablename__ = "funding_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    decision_type: Mapped[DecisionType] = mapped_column(enum_column(DecisionType))
    status: Mapped[DecisionStatus] = mapped_column(
        enum_column(DecisionStatus), default=DecisionStatus.DRAFT, index=True
    )
    summary: Mapped[str] = mapped_column(Text, default="")
    rationale: Mapped[str] = mapped_column(Text, default="")
    options_considered: Mapped[str] = mapped_column(Text, default="")
    risks: Mapped[str] = mapped_column(Text, default="")
    conflicts_declared: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    tender_id: Mapped[int | None] = mapped_column(Integer)
    # For an award: the contract it creates. For a variation or extension: the change.
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_public_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_on: Mapped[date | None] = mapped_column(Date)
    budget_override_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    provider: Mapped[Organisation | None] = relationship()
    contract: Mapped[Contract | None] = relationship(foreign_keys=[contract_id])
    drafted_by: Mapped[User | None] = relationship(foreign_keys=[drafted_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    amounts: Mapped[list[DecisionAmount]] = relationship(
        back_populates="decision",
        order_by="(DecisionAmount.year, DecisionAmount.id)",
        cascade="all, delete-orphan",
    )
    notes: Mapped[list[DecisionNote]] = relationship(
        back_populates="decision", order_by="DecisionNote.created_at"
    )

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_extra(self) -> dict[str, Any]:
        return {
            "amounts": [f"{a.year} {a.budget_line.code if a.budget_line else ''} {a.amount}"
                        for a in self.amounts]
        }  # fmt: skip

    @property
    def total(self) -> Decimal:
        return sum((amount.amount for amount in self.amounts), Decimal("0"))

    @property
    def years(self) -> list[str]:
        return sorted({amount.year for amount in self.amounts})

    @property
    def is_open(self) -> bool:
        """Still being written or decided (draft, submitted or deferred)."""
        return self.status in (
            DecisionStatus.DRAFT,
            DecisionStatus.SUBMITTED,
            DecisionStatus.DEFERRED,
        )


class DecisionAmount(db.Model):
    """Part of a decision's money: an amount in one financial year from one budget line.

    Changed only with its decision (whose audit event lists every amount)."""

    __tablename__ = "decision_amounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("funding_decisions.id"), index=True)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("budget_lines.id"), index=True)
    year: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(MONEY)

    decision: Mapped[FundingDecision] = relationship(back_populates="amounts")
    budget_line: Mapped[BudgetLine] = relationship(back_populates="amounts")


class DecisionNote(Audited, db.Model):
    """A step in a decision's life with its comment: submitted, approved, queried..."""

    __tablename__ = "decision_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("funding_decisions.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    decision: Mapped[FundingDecision] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return f"{self.action} note on decision {self.decision_id}"
