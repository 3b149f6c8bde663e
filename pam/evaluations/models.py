"""An evaluation report: what an officer chose (subject, stage, period) and wrote
(recommendations). Its figures are worked out from the returns or the pilot's cases each
time it is read, so a report never disagrees with the records it summarises."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.extensions import db, enum_column

if TYPE_CHECKING:
    from pam.auth.models import User
    from pam.contracts.models import Contract
    from pam.programmes.models import Pilot


class Stage(enum.StrEnum):
    INTERIM = "interim"
    FINAL = "final"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class EvaluationReport(Audited, db.Model):
    __tablename__ = "evaluation_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), default=Stage.INTERIM)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    pilot_id: Mapped[int | None] = mapped_column(ForeignKey("pilots.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    contract: Mapped[Contract | None] = relationship()
    pilot: Mapped[Pilot | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def audit_label(self) -> str:
        return self.title

    @property
    def subject_name(self) -> str:
        if self.contract is not None:
            return f"{self.contract.reference} {self.contract.title}"
        return self.pilot.name if self.pilot is not None else ""
