"""Long exports kept, so that a national year's returns data is made once for each change
to what it reads, not once for each download (pam.exports.kept)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pam.audit.models import utcnow
from pam.extensions import db


class KeptExport(db.Model):
    """One export's file, as it was sent, kept under a digest of the revision stamps of
    everything it read. A cache, never stale (a change is a new digest) and not a record:
    any row may be deleted, and the download that finds none makes it again. Each
    download is audited, kept or not."""

    __tablename__ = "kept_exports"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    export: Mapped[str] = mapped_column(String(40))
    year: Mapped[str] = mapped_column(String(16))  # "" for every year
    fmt: Mapped[str] = mapped_column(String(8))
    rows: Mapped[int] = mapped_column(Integer)
    # How `body` is encoded: "gzip" (a .csv) or "identity" (an .xlsx, already a zip).
    encoding: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # One file for each export, year and format: a newer one replaces it.
    __table_args__ = (UniqueConstraint("export", "year", "fmt"),)
