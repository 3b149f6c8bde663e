"""Worked-out suppression patterns, kept so that no server process works one out twice.

A pattern for a national year takes minutes to work out and is the same for the same
inputs, so it is stored under a digest of exactly those inputs (pam.dashboards.stored).
Every gunicorn worker, and the server after a restart, reads it instead of working it
out again. It is a cache, not a record: any row may be deleted and is worked out again,
and a changed figure or contract is a new digest, so a row is never stale. It is not
audited (the facts it is derived from are).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pam.audit.models import utcnow
from pam.extensions import db


class StoredPattern(db.Model):
    __tablename__ = "suppression_patterns"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(80))
    year: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[int] = mapped_column(Integer)
    # The revision stamps (facts|contract index) the pattern holds under, where known: a
    # reader of a few contracts' facts finds it by them (pam.dashboards.stored).
    stamps: Mapped[str | None] = mapped_column(String(200))
    # The hidden figures, each its cells' keys, sealed (compressed JSON).
    hidden: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_suppression_patterns_family_year", "family", "year"),)


class KeptPage(db.Model):
    """A built dashboard page (its charts), kept so that one server process builds it and
    every other reads it (pam.dashboards.kept). A cache under the revision stamps it was
    built under, never stale; any row may be deleted."""

    __tablename__ = "kept_pages"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    page: Mapped[str] = mapped_column(String(40))
    year: Mapped[str] = mapped_column(String(16))
    stamps: Mapped[str] = mapped_column(String(200))
    # A digest of what the page shows apart from the stamps and the day (page, filters,
    # threshold): the newest page kept of it is shown while a newer one cannot be built
    # without working the year's suppression patterns out again (pam.dashboards.pages).
    same_page: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # compressed JSON (never pickle)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_kept_pages_page_year", "page", "year"),
        Index("ix_kept_pages_same_page", "same_page"),
    )
