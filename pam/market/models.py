"""Market assessments: need, supply and gaps for a service in some areas.

An assessment is drafted, then published; publishing freezes a numbered version (a
snapshot of every field and the co-production evidence), and later edits work on a new
draft, so what the Strategic Commissioning Board was shown is always there to read.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.extensions import db, enum_column
from pam.providers.models import Area, ServiceCategory

if TYPE_CHECKING:
    from pam.auth.models import User
    from pam.files.models import StoredFile
    from pam.providers.models import Organisation

assessment_areas = Table(
    "market_assessment_areas",
    db.metadata,
    Column("assessment_id", ForeignKey("market_assessments.id", ondelete="CASCADE"),
           primary_key=True),
    Column("area_id", ForeignKey("areas.id"), primary_key=True),
)  # fmt: skip


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# The narrative sections of an assessment, in the order a board paper reads them.
SECTIONS = {
    "need": "Need: demand and who needs the service",
    "supply": "Supply: the providers, their capacity and quality",
    "gaps": "Gaps",
    "risks": "Risks",
    "recommendations": "Recommendations to the Strategic Commissioning Board",
}


class MarketAssessment(Audited, db.Model):
    """The working copy of an assessment (its published versions are snapshots)."""

    __tablename__ = "market_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    service_category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus), default=AssessmentStatus.DRAFT
    )
    estimated_annual_demand: Mapped[int | None] = mapped_column(Integer)
    need: Mapped[str] = mapped_column(Text, default="")
    supply: Mapped[str] = mapped_column(Text, default="")
    gaps: Mapped[str] = mapped_column(Text, default="")
    risks: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    service_category: Mapped[ServiceCategory] = relationship()
    areas: Mapped[list[Area]] = relationship(secondary=assessment_areas, order_by=Area.name)
    author: Mapped[User | None] = relationship()
    consultations: Mapped[list[Consultation]] = relationship(
        back_populates="assessment", order_by="Consultation.held_on"
    )
    published_versions: Mapped[list[PublishedAssessment]] = relationship(
        back_populates="assessment", order_by="PublishedAssessment.number"
    )

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        return self.title

    def audit_extra(self) -> dict[str, Any]:
        return {"areas": [area.name for area in self.areas]}

    @property
    def latest_published(self) -> PublishedAssessment | None:
        return self.published_versions[-1] if self.published_versions else None

    def snapshot(self) -> dict[str, Any]:
        """Everything a published version freezes."""
        return {
            "title": self.title,
            "service": self.service_category.name,
            "areas": [area.name for area in self.areas],
            "estimated_annual_demand": self.estimated_annual_demand,
            **{key: getattr(self, key) for key in SECTIONS},
            "consultations": [c.as_dict() for c in self.consultations],
        }


class Consultation(Audited, db.Model):
    """Co-production evidence: who was consulted, how and when, what they said, what changed."""

    __tablename__ = "market_consultations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("market_assessments.id"), index=True)
    stakeholders: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    what_they_said: Mapped[str] = mapped_column(Text)
    what_changed: Mapped[str] = mapped_column(Text, default="")

    assessment: Mapped[MarketAssessment] = relationship(back_populates="consultations")

    def audit_label(self) -> str:
        return f"Consultation with {self.stakeholders}"

    def as_dict(self) -> dict[str, str]:
        return {
            "stakeholders": self.stakeholders,
            "method": self.method,
            "held_on": self.held_on.isoformat(),
            "what_they_said": self.what_they_said,
            "what_changed": self.what_changed,
        }


class PublishedAssessment(Audited, db.Model):
    """A published version: a frozen snapshot, never changed."""

    __tablename__ = "published_assessments"
    __table_args__ = (UniqueConstraint("assessment_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("market_assessments.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    change_note: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    assessment: Mapped[MarketAssessment] = relationship(back_populates="published_versions")
    published_by: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return f"{self.content.get('title', 'Assessment')} version {self.number}"


# --- tenders, bids and evaluation ---------------------------------------------------------


tender_areas = Table(
    "tender_areas",
    db.metadata,
    Column("tender_id", ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id"), primary_key=True),
)


class Procedure(enum.StrEnum):
    OPEN = "open"
    RESTRICTED = "restricted"
    GRANT_ROUND = "grant_round"
    DIRECT_AWARD = "direct_award"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class TenderStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    AWARDED = "awarded"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Tender(Audited, db.Model):
    """A procurement exercise or grant round, its timetable and evaluation criteria."""

    __tablename__ = "tenders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    service_category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    market_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("market_assessments.id"))
    estimated_value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    procedure: Mapped[Procedure] = mapped_column(enum_column(Procedure))
    direct_award_justification: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TenderStatus] = mapped_column(
        enum_column(TenderStatus), default=TenderStatus.DRAFT
    )
    published_on: Mapped[date | None] = mapped_column(Date)
    clarification_deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submission_deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    award_on: Mapped[date | None] = mapped_column(Date)
    scale_max: Mapped[int] = mapped_column(Integer, default=5)
    # Set when the bids are opened, after the submission deadline (and audited).
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Stamped by each save of the moderation grid, so that save bumps `version`.
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    service_category: Mapped[ServiceCategory] = relationship()
    areas: Mapped[list[Area]] = relationship(secondary=tender_areas, order_by=Area.name)
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="tender", order_by="(Criterion.position, Criterion.id)"
    )
    clarifications: Mapped[list[Clarification]] = relationship(
        back_populates="tender", order_by="Clarification.asked_at"
    )
    bids: Mapped[list[Bid]] = relationship(back_populates="tender", order_by="Bid.id")
    evaluators: Mapped[list[Evaluator]] = relationship(back_populates="tender")

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_extra(self) -> dict[str, Any]:
        return {"areas": [area.name for area in self.areas]}

    @property
    def total_weight(self) -> int:
        return sum(criterion.weight for criterion in self.criteria)


class Criterion(Audited, db.Model):
    """An evaluation criterion with its weight (a tender's weights sum to 100)."""

    __tablename__ = "tender_criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    tender: Mapped[Tender] = relationship(back_populates="criteria")

    def audit_label(self) -> str:
        return f"{self.name} ({self.weight}%)"


class Clarification(Audited, db.Model):
    """A bidder's question; its answer is published to every bidder without the asker."""

    __tablename__ = "tender_clarifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    asked_by_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    tender: Mapped[Tender] = relationship(back_populates="clarifications")

    def audit_label(self) -> str:
        return f"Clarification on tender {self.tender_id}"


class BidStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class Bid(Audited, db.Model):
    """A provider's bid. Its content is sealed until the tender's bids are opened."""

    __tablename__ = "bids"
    # One live bid per provider per tender: live_key is the provider's id while the bid is
    # live and NULL once withdrawn (NULLs never clash), so the database enforces it too.
    __table_args__ = (UniqueConstraint("tender_id", "live_key"),)
    __audit_redact__ = ("answers", "price")  # sealed content stays out of the trail

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    live_key: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[BidStatus] = mapped_column(enum_column(BidStatus), default=BidStatus.SUBMITTED)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    tender: Mapped[Tender] = relationship(back_populates="bids")
    provider: Mapped[Organisation] = relationship()
    documents: Mapped[list[BidDocument]] = relationship(
        back_populates="bid", order_by="BidDocument.id"
    )

    def audit_label(self) -> str:
        return f"Bid {self.id} on tender {self.tender_id}"


class Evaluator(Audited, db.Model):
    """An officer assigned to score a tender's bids, with their conflict declaration."""

    __tablename__ = "tender_evaluators"
    __table_args__ = (UniqueConstraint("tender_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    declaration: Mapped[str] = mapped_column(Text, default="")
    has_conflict: Mapped[bool | None] = mapped_column(Boolean)  # None: not yet declared
    declared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scores_submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    tender: Mapped[Tender] = relationship(back_populates="evaluators")
    user: Mapped[User] = relationship()
    scores: Mapped[list[Score]] = relationship(back_populates="evaluator")

    def audit_label(self) -> str:
        return f"Evaluator {self.user_id} on tender {self.tender_id}"


class Score(Audited, db.Model):
    """One evaluator's score of one bid against one criterion, with the reason."""

    __tablename__ = "tender_scores"
    __table_args__ = (UniqueConstraint("evaluator_id", "bid_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("tender_evaluators.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("tender_criteria.id"))
    score: Mapped[int] = mapped_column(Integer)
    justification: Mapped[str] = mapped_column(Text)

    evaluator: Mapped[Evaluator] = relationship(back_populates="scores")

    def audit_label(self) -> str:
        return f"Score for bid {self.bid_id}"


class ModeratedScore(Audited, db.Model):
    """The agreed final score of a bid against a criterion, after moderation."""

    __tablename__ = "tender_moderated_scores"
    __table_args__ = (UniqueConstraint("bid_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("tender_criteria.id"))
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def audit_label(self) -> str:
        return f"Moderated score for bid {self.bid_id}"


class BidDocument(Audited, db.Model):
    """A document attached to a bid; sealed with the bid (downloaded via bid_content rules)."""

    __tablename__ = "bid_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))

    bid: Mapped[Bid] = relationship(back_populates="documents")
    file: Mapped[StoredFile] = relationship()

    def audit_label(self) -> str:
        return f"Document of bid {self.bid_id}"
