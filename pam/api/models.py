"""API tokens: how a provider's case management system (or an officer's script) calls
PAM's API without a browser session.

A token is `pam_<prefix>_<secret>`. Only the prefix (to find the row) and a SHA-256 hash
of the whole token are stored: the token is shown once, when made, and a copy of the
database cannot be used to call the API. (A fast hash is enough: the secret carries 256
random bits, so there is nothing to guess, unlike a password.)
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pam.audit.models import Audited, utcnow
from pam.auth.models import User
from pam.extensions import db
from pam.providers.models import Organisation


class Scope(enum.StrEnum):
    """What a token may do, on top of what its user's role allows."""

    READ = "read"
    SUBMIT = "submit"  # save and submit quarterly returns

    @property
    def label(self) -> str:
        return {"read": "Read", "submit": "Save and submit returns"}[self.value]


class ApiToken(Audited, db.Model):
    __tablename__ = "api_tokens"
    __audit_redact__ = ("token_hash",)
    __audit_exclude__ = ("created_at", "last_used_at")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    # Space-separated Scope values, e.g. "read submit".
    scopes: Mapped[str] = mapped_column(String(40))
    # The token acts as this user: the pages' permission rules apply to it unchanged, and
    # it stops working when the user is deactivated.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # A provider's token belongs to the organisation: any of its administrators sees and
    # can revoke it. NULL for OPCC staff's own tokens.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def scope_set(self) -> frozenset[Scope]:
        return frozenset(Scope(value) for value in self.scopes.split())

    def audit_label(self) -> str:
        return f"API token {self.name} (pam_{self.prefix})"
