"""The metric dictionary and each contract's outcome framework.

A Metric is a KPI's identity (its code); what it means lives in MetricVersion. Changing a
definition, counting rule, unit or direction makes a new version, and a return records the
version it was reported against, so figures counted under different rules are never
silently compared. A contract's OutcomeFramework picks metrics and sets their targets;
a Target applies from a period onwards, so changing one keeps what earlier periods were
judged against.
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
from pam.core.progress import ProgressStatus
from pam.extensions import db, enum_column

if TYPE_CHECKING:
    from pam.auth.models import User
    from pam.contracts.models import Contract

FIGURE = Numeric(14, 2)


class Unit(enum.StrEnum):
    COUNT = "count"
    PERCENTAGE = "percentage"
    MONEY = "money"
    DAYS = "days"

    @property
    def label(self) -> str:
        return {"count": "Count", "percentage": "Percentage", "money": "£", "days": "Days"}[
            self.value
        ]


class Direction(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"

    @property
    def label(self) -> str:
        return f"{self.value.capitalize()} is better"


class Aggregation(enum.StrEnum):
    SUM = "sum"
    AVERAGE = "average"
    LATEST = "latest"

    @property
    def label(self) -> str:
        return {
            "sum": "Sum of the periods",
            "average": "Average of the periods",
            "latest": "Latest period",
        }[self.value]


class Frequency(enum.StrEnum):
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"
    ANNUAL = "annual"
    MILESTONE = "milestone"

    @property
    def label(self) -> str:
        return "Milestone dates" if self == Frequency.MILESTONE else self.value.capitalize()


# Breakdowns a metric may ask for: the categories are fixed here (changing them is a code
# change, reviewed like any other) so every provider reports the same categories.
BREAKDOWNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "referral_source": (
        "Referral source",
        ("Police", "Probation", "Youth Justice Service", "Prisons", "Self-referral", "Other"),
    ),
    "crime_type": (
        "Crime type",
        (
            "Violence against the person",
            "Sexual offences",
            "Domestic abuse",
            "Burglary and theft",
            "Criminal damage and arson",
            "Hate crime",
            "Anti-social behaviour",
            "Other",
        ),
    ),
    "age_group": (
        "Age group (protected characteristic)",
        ("Under 18", "18 to 24", "25 to 34", "35 to 49", "50 to 64", "65 and over", "Not known"),
    ),
    "disability": (
        "Disability (protected characteristic)",
        ("Disabled", "Not disabled", "Not known"),
    ),
    "process_type": (
        "Restorative process",
        ("Direct (face-to-face)", "Indirect (shuttle or letter)", "Reparation"),
    ),
}


class Metric(Audited, db.Model):
    """A KPI in the shared dictionary, identified by its code; its meaning is versioned."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[MetricVersion]] = relationship(
        back_populates="metric", order_by="MetricVersion.number"
    )

    @property
    def current(self) -> MetricVersion:
        return self.versions[-1]

    def version_on(self, day: date) -> MetricVersion:
        """The version in force on a day (the first version for days before any)."""
        in_force = [v for v in self.versions if v.valid_from <= day]
        return in_force[-1] if in_force else self.versions[0]

    def audit_label(self) -> str:
        return f"{self.code} {self.current.name}" if self.versions else self.code


class MetricVersion(Audited, db.Model):
    """One version of a metric's definition. Never edited once made: a change is a new one."""

    __tablename__ = "metric_versions"
    __table_args__ = (UniqueConstraint("metric_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text)
    counting_rule: Mapped[str] = mapped_column(Text)
    numerator: Mapped[str] = mapped_column(Text, default="")
    denominator: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[Unit] = mapped_column(enum_column(Unit))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    aggregation: Mapped[Aggregation] = mapped_column(enum_column(Aggregation))
    breakdowns: Mapped[list[str]] = mapped_column(JSON, default=list)
    funder_mappings: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    change_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    metric: Mapped[Metric] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        code = self.metric.code if self.metric else ""
        return f"{code} v{self.number} {self.name}"

    @property
    def is_rate(self) -> bool:
        return self.unit == Unit.PERCENTAGE


class OutcomeFramework(Audited, db.Model):
    """What a contract must achieve and how it reports: its measures, schedule and tolerance."""

    __tablename__ = "outcome_frameworks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    frequency: Mapped[Frequency] = mapped_column(
        enum_column(Frequency), default=Frequency.QUARTERLY
    )
    # Amber when within this percentage of the target (10: at least 90% of a
    # higher-is-better target); a measure may override it.
    rag_tolerance_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("10"))
    due_days: Mapped[int] = mapped_column(Integer, default=15)
    due_in_working_days: Mapped[bool] = mapped_column(Boolean, default=True)
    is_proportionate: Mapped[bool] = mapped_column(Boolean, default=False)
    # For a milestone schedule: the dates (ISO) each return runs to.
    milestones: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)

    contract: Mapped[Contract] = relationship(back_populates="framework")
    measures: Mapped[list[FrameworkMeasure]] = relationship(
        back_populates="framework", order_by="(FrameworkMeasure.position, FrameworkMeasure.id)"
    )

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        return f"Outcome framework for {self.contract.reference}" if self.contract else "Framework"

    @property
    def milestone_dates(self) -> list[date]:
        return [date.fromisoformat(text) for text in self.milestones or []]

    @property
    def active_measures(self) -> list[FrameworkMeasure]:
        return [measure for measure in self.measures if measure.is_active]


class FrameworkMeasure(Audited, db.Model):
    """A metric a contract reports, with its targets over time."""

    __tablename__ = "framework_measures"
    __table_args__ = (UniqueConstraint("framework_id", "metric_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("outcome_frameworks.id"), index=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    tolerance_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    framework: Mapped[OutcomeFramework] = relationship(back_populates="measures")
    metric: Mapped[Metric] = relationship()
    targets: Mapped[list[Target]] = relationship(
        back_populates="measure", order_by="(Target.effective_from, Target.id)"
    )

    def audit_label(self) -> str:
        contract = self.framework.contract.reference if self.framework else ""
        return f"{self.metric.code} on {contract}" if self.metric else "Measure"

    def audit_extra(self) -> dict[str, Any]:
        return {}

    @property
    def tolerance(self) -> Decimal:
        if self.tolerance_percent is not None:
            return self.tolerance_percent
        return self.framework.rag_tolerance_percent

    def target_for(self, period_start: date) -> Target | None:
        """The target in force for a period starting on that day (None if none yet)."""
        in_force = [t for t in self.targets if t.effective_from <= period_start]
        return in_force[-1] if in_force else None


class Target(Audited, db.Model):
    """A measure's target per period, in force from a period onwards (history is kept)."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("framework_measures.id"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    period_target: Mapped[Decimal] = mapped_column(FIGURE)
    annual_target: Mapped[Decimal | None] = mapped_column(FIGURE)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    measure: Mapped[FrameworkMeasure] = relationship(back_populates="targets")

    def audit_label(self) -> str:
        return f"Target for {self.measure.audit_label()}" if self.measure else "Target"


class ContractRating(Audited, db.Model):
    """A contract's performance rating for a financial year (Procurement Act 2023 scale):
    proposed from the RAG history, confirmed or overridden (with a reason) by an officer."""

    __tablename__ = "contract_ratings"
    __table_args__ = (UniqueConstraint("contract_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    year: Mapped[str] = mapped_column(String(7))
    proposed: Mapped[str] = mapped_column(String(30))
    rating: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    confirmed_by: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return f"Rating {self.year} for contract {self.contract_id}"


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Escalation(Audited, db.Model):
    """An improvement plan opened on a contract that is under-performing."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[EscalationStatus] = mapped_column(
        enum_column(EscalationStatus), default=EscalationStatus.OPEN
    )
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closing_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    opened_by: Mapped[User | None] = relationship()
    actions: Mapped[list[EscalationAction]] = relationship(
        back_populates="escalation", order_by="(EscalationAction.due_on, EscalationAction.id)"
    )

    def audit_label(self) -> str:
        return f"Escalation {self.id} on contract {self.contract_id}"


class EscalationAction(Audited, db.Model):
    """One action of an improvement plan: what, who, by when, and how it is going."""

    __tablename__ = "escalation_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ProgressStatus] = mapped_column(
        enum_column(ProgressStatus), default=ProgressStatus.NOT_STARTED
    )

    escalation: Mapped[Escalation] = relationship(back_populates="actions")

    def audit_label(self) -> str:
        return f"Action on escalation {self.escalation_id}: {self.description[:60]}"
