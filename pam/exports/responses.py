"""Sending an export: the file in the asked-for format, recorded in the audit trail."""

from __future__ import annotations

from flask import Response, abort
from flask_login import current_user

from pam.audit import services as audit
from pam.exports.tabular import Sheet, to_csv, to_xlsx
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


def send_file_bytes(body: bytes, fmt: str, filename: str, record_type: str, summary: str):
    audit.record("export", actor=current_user, record_type=record_type, summary=summary)
    db.session.commit()
    mimetype = XLSX if fmt == "xlsx" else "text/csv"
    response = Response(body, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "no-store"
    return response
