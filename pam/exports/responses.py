"""Sending an export: the file in the asked-for format, recorded in the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Response, abort, flash, redirect, request, stream_with_context
from flask_login import current_user

from pam.audit import services as audit
from pam.exports import kept, tabular
from pam.exports.tabular import (
    LongSheet,
    Sheet,
    csv_pieces,
    to_csv,
    to_xlsx,
    xlsx_pieces,
)
from pam.extensions import db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def send_sheet(sheet: Sheet, fmt: str, filename: str, record_type: str) -> Response:
    """The sheet as .csv or .xlsx (404 for any other format), audited as an export."""
    if fmt not in FORMATS:
        abort(404)
    body = to_csv(sheet) if fmt == "csv" else to_xlsx([sheet], sheet.title)
    return send_file_bytes(
        body, fmt, f"{filename}.{fmt}", record_type,
        f"Exported {sheet.title.lower()} ({len(sheet.rows)} rows) as .{fmt}",
    )  # fmt: skip


def send_file_bytes(body: bytes | Iterable[bytes], fmt: str, filename: str, record_type: str,
                    summary: str):  # fmt: skip
    """The body as an attachment, its download audited first."""
    audit.record("export", actor=current_user, record_type=record_type, summary=summary)
    db.session.commit()
    mimetype = XLSX if fmt == "xlsx" else "text/csv"
    response = Response(body, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "no-store"
    return response


def send_long_export(export: str, year: str | None, fmt: str, make: Callable[[], LongSheet],
                     record_type: str, title: str, back: str) -> Response:  # fmt: skip
    """A long export (of one year, or every year) sent as `export`.<fmt>, audited as
    send_long_sheet: the file kept under the stamps of what it reads (pam.exports.kept),
    else make()'s sheet (whose title is `title`) sent as it is made, and kept."""
    if fmt not in FORMATS:
        abort(404)
    key = kept.Key.now(export, year, fmt)
    found = kept.find(key)
    if found is None:
        return send_long_sheet(make(), fmt, export, record_type, back, keep=key)
    # Read before send_file_bytes commits the audit event (which expires the row).
    body, gzipped = found.body, found.encoding == "gzip"
    summary = f"Exported {title.lower()} ({found.rows} rows) as .{fmt}"
    as_gzip = gzipped and request.accept_encodings.quality("gzip") > 0
    sent = kept.gunzipped(body) if gzipped and not as_gzip else body
    response = send_file_bytes(sent, fmt, f"{export}.{fmt}", record_type, summary)
    if gzipped:
        response.vary.add("Accept-Encoding")
    if as_gzip:
        response.headers["Content-Encoding"] = "gzip"
    return response


def send_long_sheet(sheet: LongSheet, fmt: str, filename: str, record_type: str, back: str,
                    keep: kept.Key | None = None) -> Response:  # fmt: skip
    """A long sheet sent as it is made (see pam.exports.tabular), audited first. An .xlsx
    with more rows than a worksheet holds is refused with a message, back at `back`.

    The sheet's rows must be a generator that runs its query only when first read: the
    audit event is committed before, and on PostgreSQL a server-side cursor opened
    earlier would be closed by that commit. With `keep`, the file is kept under it once
    the last piece has gone (pam.exports.kept)."""
    if fmt not in FORMATS:
        abort(404)
    if fmt == "xlsx" and not sheet.fits_one_worksheet:
        flash(
            f"That is {sheet.count:,} rows, more than an Excel worksheet holds "
            f"({tabular.XLSX_MAX_ROWS:,}): download it as .csv, or choose a shorter period",
            "error",
        )
        return redirect(back)
    summary = f"Exported {sheet.title.lower()} ({sheet.count} rows) as .{fmt}"
    pieces = csv_pieces(sheet) if fmt == "csv" else xlsx_pieces(sheet)
    if keep is not None:
        pieces = kept.keeping(keep, pieces, sheet.count)
    # Sent as they are made: the request's context (and its database session) stays open
    # until the last piece has gone.
    return send_file_bytes(stream_with_context(pieces), fmt, f"{filename}.{fmt}", record_type,
                           summary)  # fmt: skip
