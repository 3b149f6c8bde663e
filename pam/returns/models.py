"""A contract's return for a period, its submitted versions, figures and reviews.

A ProviderReturn exists once anyone starts one (a draft, an upload, a submission). Each
submission is a ReturnVersion that is never changed afterwards; its ReturnFigures record
the metric version they were counted under. What a provider typed but could not yet
submit (a file with mistakes, a form half filled) is kept on the return as its draft, so
nothing typed is lost. An accepted return is locked: a correction is a new version with a
reason, reviewed again.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.core.periods import UK, Period, as_utc
from pam.extensions import db, enum_column

if TYPE_CHECKING:
    from pam.auth.models import User
    from pam.contracts.models import Contract
    from pam.files.models import StoredFile


class ReturnStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    QUERIED = "queried"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return {
            "draft": "Draft",
            "submitted": "Awaiting review",
            "queried": "Queried",
            "accepted": "Accepted",
        }[self.value]


class ReturnSource(enum.StrEnum):
    SPREADSHEET = "spreadsheet"
    CSV = "csv"
    WEB = "web"
    COMMAND_LINE = "command_line"
    API = "api"


class ProviderReturn(Audited, db.Model):
    """A contract's return for one reporting period."""

    __tablename__ = "returns"
    __table_args__ = (UniqueConstraint("contract_id", "period"),)
    __audit_exclude__ = ("created_at", "updated_at", "version", "draft_values", "draft_problems")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    period: Mapped[str] = mapped_column(String(40))  # milestone labels are long
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ReturnStatus] = mapped_column(
        enum_column(ReturnStatus), default=ReturnStatus.DRAFT, index=True
    )
    # What was last typed or uploaded but not submitted: {key: text as typed}.
    draft_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    draft_explanations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The problems found with it: [{"key": "K:RJ01" or None, "message": "..."}].
    draft_problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    draft_saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Optimistic locking: two submissions of the same return at the same moment cannot
    # both win; the second is refused and its entries kept as a draft.
    version: Mapped[int] = mapped_column(Integer, default=1)

    contract: Mapped[Contract] = relationship()
    versions: Mapped[list[ReturnVersion]] = relationship(
        back_populates="provider_return", order_by="ReturnVersion.number"
    )
    reviews: Mapped[list[ReturnReview]] = relationship(
        back_populates="provider_return", order_by="ReturnReview.reviewed_at"
    )

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        reference = self.contract.reference if self.contract else ""
        return f"{reference} return {self.period}"

    @property
    def reporting_period(self) -> Period:
        return Period.parse(self.period)

    @property
    def latest(self) -> ReturnVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def accepted_version(self) -> ReturnVersion | None:
        """The figures that count: the latest accepted version, if any."""
        accepted = {review.version_id for review in self.reviews if review.decision == "accepted"}
        for version in reversed(self.versions):
            if version.id in accepted:
                return version
        return None

    @property
    def submitted_late(self) -> bool:
        """First submitted after its due date."""
        if not self.versions:
            return False
        return as_utc(self.versions[0].submitted_at).astimezone(UK).date() > self.due_on

    def is_overdue(self, today: date) -> bool:
        return not self.versions and today > self.due_on

    @property
    def has_draft(self) -> bool:
        return bool(self.draft_values)


class ReturnVersion(Audited, db.Model):
    """One submission of a return. Never edited: a resubmission or correction is a new one."""

    __tablename__ = "return_versions"
    __table_args__ = (UniqueConstraint("return_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[ReturnSource] = mapped_column(enum_column(ReturnSource))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    signed_off_by: Mapped[str] = mapped_column(String(200))
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    # Spend, satisfaction, equality counts and narrative: {key: value as stored text}.
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # One-line explanations of large swings against the previous period: {key: text}.
    explanations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    provider_return: Mapped[ProviderReturn] = relationship(back_populates="versions")
    figures: Mapped[list[ReturnFigure]] = relationship(
        back_populates="version", order_by="ReturnFigure.id", cascade="all, delete-orphan"
    )
    file: Mapped[StoredFile | None] = relationship()
    submitted_by: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        parent = self.provider_return.audit_label() if self.provider_return else "return"
        return f"{parent} version {self.number}"

    def audit_extra(self) -> dict[str, Any]:
        # The figures are part of the version: its audit event records them all.
        return {"figures": {figure.key: str(figure.value) for figure in self.figures}}

    def figure(self, key: str) -> Decimal | None:
        for figure in self.figures:
            if figure.key == key:
                return figure.value
        return None


class ReturnFigure(db.Model):
    """One reported figure: a measure's total, or one category of its breakdown.

    Written only with its version (and recorded in the version's audit event), never
    changed, so it carries no audit events of its own.
    """

    __tablename__ = "return_figures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("return_versions.id"), index=True)
    key: Mapped[str] = mapped_column(String(120))
    measure_id: Mapped[int] = mapped_column(ForeignKey("framework_measures.id"))
    metric_version_id: Mapped[int] = mapped_column(ForeignKey("metric_versions.id"))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    version: Mapped[ReturnVersion] = relationship(back_populates="figures")


class ReturnReview(Audited, db.Model):
    """An officer's decision on a submitted version: accepted, or queried with comments."""

    __tablename__ = "return_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("return_versions.id"))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    provider_return: Mapped[ProviderReturn] = relationship(back_populates="reviews")
    reviewer: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        parent = self.provider_return.audit_label() if self.provider_return else "return"
        return f"Review of {parent}"


class ReturnFact(db.Model):
    """The summary the dashboards, board packs and exports read: one row per figure of
    each return's accepted version, with its period placed in a financial year and
    quarter and, for a measure's total, the target in force and the RAG.

    Derived data, rebuilt by pam.returns.facts whenever a return is accepted or a
    contract's targets or tolerance change; never edited by hand, so it carries no audit
    events of its own (the figures' own events are on the return versions).
    """

    __tablename__ = "return_facts"
    __table_args__ = (
        UniqueConstraint("return_id", "key"),
        Index("ix_return_facts_year_code", "year", "code", "quarter"),
        # The contracts reporting in a year, read by every board view (the suppression
        # pattern's filters): answered from the index alone, 8 times quicker at 5% scale.
        Index("ix_return_facts_year_contract", "year", "contract_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("return_versions.id"))
    year: Mapped[str] = mapped_column(String(7))  # "2025/26", of the period's last day
    quarter: Mapped[int] = mapped_column(Integer)  # 1-4: the quarter the period ends in
    period: Mapped[str] = mapped_column(String(40))
    period_end: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(1))  # K measure, S spend, Q satisfaction, E equality
    code: Mapped[str] = mapped_column(String(40))  # "RJ01", "spend", "responses", "age"
    breakdown: Mapped[str] = mapped_column(String(40), default="")  # "" for a total
    category: Mapped[str] = mapped_column(String(80), default="")
    metric_version_id: Mapped[int | None] = mapped_column(ForeignKey("metric_versions.id"))
    unit: Mapped[str] = mapped_column(String(20))
    aggregation: Mapped[str] = mapped_column(String(10), default="sum")
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    rag: Mapped[str | None] = mapped_column(String(5))


class FactRevision(db.Model):
    """A financial year's facts revision: a random stamp that database triggers set again
    whenever the year's facts change (pam.returns.revisions). Caches of what is derived
    from a year's facts are kept under it. Derived data, not audited; a missing row
    means "unknown"."""

    __tablename__ = "fact_revisions"

    year: Mapped[str] = mapped_column(String(7), primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))


class StateRevision(db.Model):
    """A random stamp that database triggers set again whenever what it names changes
    (pam.returns.revisions): 'return states', whether each due return came on time.
    Derived data, not audited; a missing row means "unknown"."""

    __tablename__ = "state_revisions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))
