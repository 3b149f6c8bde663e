"""The RJ strategy delivery plan and the risk register.

The plan runs objectives -> actions -> milestones; each milestone has an owner, a due date,
a status and a RAG, and dated progress updates (the history the board reads). A risk has a
likelihood and an impact (1 to 5 each, scored as their product), an owner, mitigations and a
review date; each review is kept.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.core.progress import ProgressStatus
from pam.extensions import db, enum_column
from pam.providers.models import Area

if TYPE_CHECKING:
    from pam.auth.models import User


class Objective(Audited, db.Model):
    __tablename__ = "plan_objectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)

    actions: Mapped[list[PlanAction]] = relationship(
        back_populates="objective", order_by="PlanAction.id"
    )

    def audit_label(self) -> str:
        return self.title


class PlanAction(Audited, db.Model):
    __tablename__ = "plan_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("plan_objectives.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))

    objective: Mapped[Objective] = relationship(back_populates="actions")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="action", order_by="(Milestone.due_on, Milestone.id)"
    )

    def audit_label(self) -> str:
        return self.title


class Milestone(Audited, db.Model):
    __tablename__ = "plan_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("plan_actions.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ProgressStatus] = mapped_column(
        enum_column(ProgressStatus), default=ProgressStatus.NOT_STARTED
    )
    rag: Mapped[str] = mapped_column(String(10), default="green")

    action: Mapped[PlanAction] = relationship(back_populates="milestones")
    updates: Mapped[list[ProgressUpdate]] = relationship(
        back_populates="milestone", order_by="ProgressUpdate.written_on.desc()"
    )

    def audit_label(self) -> str:
        return self.title

    def is_overdue(self, today: date) -> bool:
        return self.status != ProgressStatus.DONE and self.due_on < today


class ProgressUpdate(Audited, db.Model):
    __tablename__ = "plan_progress_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("plan_milestones.id"), index=True)
    written_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    status: Mapped[ProgressStatus] = mapped_column(enum_column(ProgressStatus))
    rag: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    milestone: Mapped[Milestone] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return f"Update on milestone {self.milestone_id}"


class Risk(Audited, db.Model):
    """A risk to a contract or programme: likelihood x impact, owner, mitigations."""

    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(200))  # the contract or programme it affects
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(200))
    mitigations: Mapped[str] = mapped_column(Text, default="")
    review_on: Mapped[date] = mapped_column(Date)
    is_closed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    reviews: Mapped[list[RiskReview]] = relationship(
        back_populates="risk", order_by="RiskReview.reviewed_on.desc()"
    )

    def audit_label(self) -> str:
        return self.title

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def level(self) -> str:
        """'high' (15+), 'medium' (8 to 14) or 'low'."""
        return "high" if self.score >= 15 else ("medium" if self.score >= 8 else "low")


class RiskReview(Audited, db.Model):
    """A dated review of a risk: the scores then and what was noted (its history)."""

    __tablename__ = "risk_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    risk: Mapped[Risk] = relationship(back_populates="reviews")
    reviewer: Mapped[User | None] = relationship()

    def audit_label(self) -> str:
        return f"Review of risk {self.risk_id}"


# --- pilots (Neighbourhood Justice Panels) ---------------------------------------------------


class Pilot(Audited, db.Model):
    """A pilot such as Neighbourhood Justice Panels, with a site per area."""

    __tablename__ = "pilots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)

    sites: Mapped[list[PilotSite]] = relationship(back_populates="pilot", order_by="PilotSite.name")

    def audit_label(self) -> str:
        return self.name


class PilotSite(Audited, db.Model):
    """Where the pilot runs: a panel in one local authority area."""

    __tablename__ = "pilot_sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilots.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    name: Mapped[str] = mapped_column(String(200))

    pilot: Mapped[Pilot] = relationship(back_populates="sites")
    area: Mapped[Area] = relationship()
    sessions: Mapped[list[PanelSession]] = relationship(
        back_populates="site", order_by="PanelSession.held_on.desc()"
    )

    def audit_label(self) -> str:
        return self.name


class PanelSession(Audited, db.Model):
    __tablename__ = "panel_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("pilot_sites.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    volunteers: Mapped[int] = mapped_column(Integer, default=0)

    site: Mapped[PilotSite] = relationship(back_populates="sessions")
    cases: Mapped[list[PanelCase]] = relationship(back_populates="session", order_by="PanelCase.id")

    def audit_label(self) -> str:
        return f"Panel at {self.site.name if self.site else ''} on {self.held_on:%d/%m/%Y}"


class PanelCase(Audited, db.Model):
    """A case heard by a panel, by anonymised reference only: no names, ever."""

    __tablename__ = "panel_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("panel_sessions.id"), index=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    referral_source: Mapped[str] = mapped_column(String(60))
    offence_category: Mapped[str] = mapped_column(String(60))
    outcome_agreed: Mapped[str] = mapped_column(String(300))
    outcome_completed: Mapped[bool | None] = mapped_column()  # None: not yet due or known
    victim_satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1 to 5, if asked

    session: Mapped[PanelSession] = relationship(back_populates="cases")

    def audit_label(self) -> str:
        return f"Panel case {self.reference}"
