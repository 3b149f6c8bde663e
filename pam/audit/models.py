"""Audit events and the head of their hash chain.

Each event stores the hash of the event before it, so altering or deleting any stored
event breaks the chain where it happened (`flask --app app pam audit verify` finds it).
The single-row chain head is what writers lock to append: it serialises concurrent
writers on PostgreSQL (row lock) and SQLite (write lock) so the chain never forks, and
it anchors the tail, so deleting the newest events is detected too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pam.extensions import db

GENESIS_HASH = "0" * 64


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class SystemActor:
    """Who acted when no user did: a command-line task or the demo loader."""

    label: str
    id: None = None

    def audit_label(self) -> str:
        return self.label


class Audited:
    """Marker mixin for business records: changing one without an audit event is refused.

    See pam.audit.guard, which checks at commit time that every Audited row changed in
    the transaction has an event recorded in that same transaction.
    """

    __audit_exclude__: tuple[str, ...] = ("created_at", "updated_at", "version")
    __audit_redact__: tuple[str, ...] = ()

    def audit_label(self) -> str:
        """A short human name for the record in the trail (override per model)."""
        return f"{type(self).__name__} {getattr(self, 'id', '')}"

    def audit_extra(self) -> dict[str, Any]:
        """Values beyond plain columns to snapshot (e.g. many-to-many memberships)."""
        return {}


class AuditEvent(db.Model):
    """One append-only entry in the audit trail."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40), index=True)
    record_type: Mapped[str | None] = mapped_column(String(60))
    record_id: Mapped[str | None] = mapped_column(String(40))
    record_label: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_events_record", "record_type", "record_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.sequence} {self.action} {self.record_type}:{self.record_id}>"


class AuditChainHead(db.Model):
    """The one row that says where the chain ends; locked by every writer."""

    __tablename__ = "audit_chain_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
