"""Market assessments: need, supply and gaps for a service in some areas.

An assessment is drafted, then published; publishing freezes a numbered version (a
snapshot of every field and the co-production evidence), and later edits work on a new
draft, so what the Strategic Commissioning Board was shown is always there to read.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
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
