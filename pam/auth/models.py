"""Users, roles, one-time password links and the record of failed sign-ins."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.extensions import db, enum_column

if TYPE_CHECKING:
    from pam.providers.models import Organisation


class Role(enum.StrEnum):
    """The kinds of user. What each may do is said in pam.auth.permissions only."""

    ADMINISTRATOR = "administrator"
    OFFICER = "officer"
    DECISION_MAKER = "decision_maker"
    BOARD_MEMBER = "board_member"
    PROVIDER = "provider"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMINISTRATOR: "Administrator",
    Role.OFFICER: "Commissioning officer",
    Role.DECISION_MAKER: "Decision maker",
    Role.BOARD_MEMBER: "Board member",
    Role.PROVIDER: "Provider user",
}


class User(Audited, UserMixin, db.Model):
    """A person who signs in. Provider users belong to exactly one provider organisation."""

    __tablename__ = "users"
    __audit_redact__ = ("password_hash", "totp_secret")
    __audit_exclude__ = ("created_at", "updated_at", "version", "session_version", "totp_last_step")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # A provider user who administers their organisation's API tokens (set by a PAM
    # administrator; meaningless for OPCC staff, so always False for them).
    is_organisation_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped to end every session of this user (deactivation, password or role change).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Two-factor sign-in (pam.auth.two_factor): the encrypted TOTP seed, the last time
    # step a code was accepted for (replay protection), and when set-up was confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    __table_args__ = (
        CheckConstraint(
            "role != 'provider' OR organisation_id IS NOT NULL", name="provider_has_organisation"
        ),
    )

    # Flask-Login reads is_active: a deactivated user is signed out on their next request.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    def get_id(self) -> str:
        """Session identity: the id and the session version, so bumping the version
        invalidates every existing session cookie of this user."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def audit_label(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class PasswordLink(db.Model):
    """A one-time link to set a password: for an invitation or an administrator's reset.

    Only a hash of the token is stored, so a copy of the database cannot be used to
    take over an account.
    """

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "invitation" or "reset"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A one-time code to sign in without the authenticator app; stored only as a hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(db.Model):
    """A failed sign-in, kept for throttling by account and by address.

    Stored in the database so every server process sees the same counts.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
