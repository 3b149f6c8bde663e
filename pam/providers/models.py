"""Organisations, contacts, areas and service categories."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.extensions import db, enum_column

if TYPE_CHECKING:
    from pam.auth.models import User


class OrganisationKind(enum.StrEnum):
    """What sort of body an organisation is."""

    OPCC = "opcc"
    VCSE_CHARITY = "vcse_charity"
    CIC = "cic"
    STATUTORY = "statutory"
    PRIVATE = "private"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    OrganisationKind.OPCC: "Office of the Police and Crime Commissioner",
    OrganisationKind.VCSE_CHARITY: "VCSE charity",
    OrganisationKind.CIC: "Community interest company",
    OrganisationKind.STATUTORY: "Statutory body",
    OrganisationKind.PRIVATE: "Private company",
}

organisation_areas = Table(
    "organisation_areas",
    db.metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id"), primary_key=True),
)

organisation_service_categories = Table(
    "organisation_service_categories",
    db.metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("service_category_id", ForeignKey("service_categories.id"), primary_key=True),
)


class Area(Audited, db.Model):
    """A local authority area (reference data: each force has its own)."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name


class ServiceCategory(Audited, db.Model):
    """A kind of service the OPCC commissions (reference data)."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name


class Organisation(Audited, db.Model):
    """The OPCC itself, or a provider it commissions."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    charity_number: Mapped[str | None] = mapped_column(String(20))
    company_number: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str | None] = mapped_column(String(10))
    website: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    safeguarding_lead_name: Mapped[str | None] = mapped_column(String(200))
    safeguarding_lead_email: Mapped[str | None] = mapped_column(String(254))
    has_quality_mark: Mapped[bool] = mapped_column(Boolean, default=False)
    quality_mark_expires_on: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Optimistic locking: a save made from a stale form is refused, not silently merged.
    version: Mapped[int] = mapped_column(Integer, default=1)

    areas: Mapped[list[Area]] = relationship(secondary=organisation_areas, order_by=Area.name)
    service_categories: Mapped[list[ServiceCategory]] = relationship(
        secondary=organisation_service_categories, order_by=ServiceCategory.name
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="organisation",
        cascade="all, delete-orphan",
        order_by="(Contact.is_primary.desc(), Contact.name)",
    )
    users: Mapped[list[User]] = relationship(back_populates="organisation")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_provider(self) -> bool:
        return self.kind != OrganisationKind.OPCC

    def quality_mark_state(self, today: date) -> str:
        """'held', 'expiring' (within 90 days), 'expired' or 'none'."""
        if not self.has_quality_mark or self.quality_mark_expires_on is None:
            return "none"
        if self.quality_mark_expires_on < today:
            return "expired"
        if (self.quality_mark_expires_on - today).days <= 90:
            return "expiring"
        return "held"

    def audit_label(self) -> str:
        return self.name

    def audit_extra(self) -> dict[str, Any]:
        return {
            "areas": [area.name for area in self.areas],
            "service_categories": [category.name for category in self.service_categories],
        }


class Contact(Audited, db.Model):
    """A named contact at an organisation (work details only)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="contacts")

    def audit_label(self) -> str:
        return f"{self.name} ({self.organisation.name})" if self.organisation else self.name
