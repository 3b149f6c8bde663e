"""Accepting an upload: the checks every uploaded file passes before it is kept.

A file must be non-empty, within the size limit, of an allowed type by its name, and its
first bytes must match that type (a program renamed report.pdf is refused). Office files
(.docx, .xlsx, .odt, .ods) are zip containers, so they are recognised by their signature.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from flask import Response, current_app

from pam.audit import services as audit
from pam.core.exceptions import BusinessRuleError
from pam.extensions import db
from pam.files.models import StoredFile

ZIP = (b"PK\x03\x04",)


@dataclass(frozen=True)
class FileType:
    content_type: str
    signatures: tuple[bytes, ...] | None  # None: text, checked for being text


FILE_TYPES = {
    "pdf": FileType("application/pdf", (b"%PDF-",)),
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ZIP
    ),
    "xlsx": FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ZIP),
    "odt": FileType("application/vnd.oasis.opendocument.text", ZIP),
    "ods": FileType("application/vnd.oasis.opendocument.spreadsheet", ZIP),
    "png": FileType("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": FileType("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": FileType("image/jpeg", (b"\xff\xd8\xff",)),
    "csv": FileType("text/csv", None),
    "txt": FileType("text/plain", None),
}
DOCUMENT_TYPES = ("pdf", "docx", "xlsx", "odt", "ods", "png", "jpg", "jpeg", "csv", "txt")


def max_file_bytes() -> int:
    return current_app.config["PAM_MAX_UPLOAD_BYTES"]


def extension_of(filename: str) -> str:
    return PurePath(filename or "").suffix.lower().lstrip(".")


def check_upload(filename: str, content: bytes, allowed: tuple[str, ...]) -> FileType:
    """The file's type, or a BusinessRuleError that says plainly what is wrong."""
    name = PurePath(filename or "").name
    if not name:
        raise BusinessRuleError("Select a file")
    extension = extension_of(name)
    if extension not in allowed:
        kinds = ", ".join(f".{kind}" for kind in allowed)
        raise BusinessRuleError(f"{name} must be one of these types: {kinds}")
    if not content:
        raise BusinessRuleError(f"{name} is empty")
    if len(content) > max_file_bytes():
        limit = max_file_bytes() // (1024 * 1024)
        raise BusinessRuleError(f"{name} must be smaller than {limit} MB")
    file_type = FILE_TYPES[extension]
    if file_type.signatures is None:
        if b"\x00" in content[:4096]:
            raise BusinessRuleError(f"{name} is not a text file")
    elif not content.startswith(file_type.signatures):
        raise BusinessRuleError(f"{name} is not really a .{extension} file: check it and try again")
    return file_type


def store_file(
    actor: Any, filename: str, content: bytes, allowed: tuple[str, ...] = DOCUMENT_TYPES
) -> StoredFile:
    """Check and keep an upload; the caller links it to its record."""
    file_type = check_upload(filename, content, allowed)
    stored = StoredFile(
        filename=PurePath(filename).name[:255],
        content_type=file_type.content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(stored)
    audit.record_create(actor, stored, summary=f"Uploaded {stored.filename}")
    return stored


def download_response(actor: Any, stored: StoredFile, context: str) -> Response:
    """The file as an attachment (never rendered inline: uploads are untrusted).

    Every download is an export of data from PAM, so it is recorded in the audit trail
    (and committed here: a GET changes nothing else).
    """
    audit.record(
        "download",
        actor=actor,
        record_type="stored_files",
        record_id=stored.id,
        record_label=stored.filename,
        summary=f"Downloaded {stored.filename} ({context})",
    )
    db.session.commit()
    response = Response(stored.content, mimetype=stored.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=stored.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
