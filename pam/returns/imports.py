"""Reading a filled-in return: the .xlsx template (from Excel, LibreOffice Calc or any
other writer) or a CSV with the same codes.

Reading never trusts the file. Before openpyxl parses a spreadsheet, its zip container is
checked (a zip bomb or a macro-enabled workbook is refused unopened); the import reads
answers by the key in column A, not by position, so inserted blank rows, an extra sheet,
or changed cell formats do not matter; and every problem is collected, each saying where
it is and what to do, so the provider can fix them all at once.
"""

from __future__ import annotations

import csv
import hmac
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pam.core.forms import whole_number
from pam.returns.layout import Layout, Problem
from pam.returns.spreadsheet import (
    EXPLANATION_COLUMN,
    KEY_COLUMN,
    META_SHEET,
    RETURN_SHEET,
    VALUE_COLUMN,
    signature,
)

# Limits on what a spreadsheet may unpack to: real templates are tens of kilobytes.
MAX_ZIP_ENTRIES = 200
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200


@dataclass
class Entries:
    """Answers read from a file or form, before they are checked."""

    raw: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    percent_formats: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def refuse(self, message: str) -> Entries:
        self.problems.append(Problem(None, message))
        return self


class FileRefused(ValueError):
    """The file cannot be read at all (wrong type, damaged, unsafe); nothing was kept."""


def read_upload(filename: str, content: bytes, layout: Layout, max_bytes: int) -> Entries:
    """Entries from an uploaded .xlsx or .csv, or FileRefused saying why not."""
    name = (filename or "").rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name:
        raise FileRefused("Select the return file to upload")
    if extension in ("xlsm", "xls", "ods", "numbers"):
        raise FileRefused(
            f"{name} is a .{extension} file: save it as an Excel Workbook (.xlsx) and upload that"
        )
    if extension not in ("xlsx", "csv"):
        raise FileRefused(f"{name} must be the .xlsx return template or a .csv file")
    if not content:
        raise FileRefused(f"{name} is empty")
    if len(content) > max_bytes:
        raise FileRefused(f"{name} must be smaller than {max_bytes // (1024 * 1024)} MB")
    if extension == "csv":
        return read_csv(content, layout, name)
    return read_workbook(content, layout, name)


def _check_container(content: bytes, name: str) -> None:
    if not content.startswith(b"PK\x03\x04"):
        raise FileRefused(f"{name} is not really an .xlsx workbook: open it and save as .xlsx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise FileRefused(f"{name} is damaged and cannot be opened") from None
    if len(members) > MAX_ZIP_ENTRIES:
        raise FileRefused(f"{name} has too many parts to be a return template")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES or any(
        member.compress_size and member.file_size / member.compress_size > MAX_COMPRESSION_RATIO
        for member in members
    ):
        raise FileRefused(f"{name} unpacks to far more than a return template could: refused")
    names = {member.filename for member in members}
    if any(n.endswith("vbaProject.bin") for n in names):
        raise FileRefused(f"{name} contains macros: save it as an Excel Workbook (.xlsx)")
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise FileRefused(f"{name} is not an Excel workbook: open it and save as .xlsx")


def read_workbook(content: bytes, layout: Layout, name: str = "The file") -> Entries:
    _check_container(content, name)
    try:
        book = load_workbook(io.BytesIO(content), data_only=False, keep_links=False)
    except Exception:  # openpyxl raises many kinds of error for a damaged file
        raise FileRefused(f"{name} is damaged and cannot be opened as a workbook") from None
    entries = Entries()
    if META_SHEET not in book.sheetnames:
        return entries.refuse(
            f"{name} is not a PAM return template (its hidden details are missing): download "
            "the template for this return and fill that in"
        )
    problem = check_metadata(_metadata(book[META_SHEET]), layout)
    if problem:
        return entries.refuse(problem)
    if RETURN_SHEET not in book.sheetnames:
        return entries.refuse(
            f"The sheet named '{RETURN_SHEET}' is missing (was it renamed or deleted?): "
            f"rename it back to '{RETURN_SHEET}' or download a fresh template"
        )
    _read_return_sheet(book[RETURN_SHEET], layout, entries)
    return entries


def _metadata(sheet) -> dict[str, str]:
    values = {}
    for row in sheet.iter_rows(min_row=1, max_row=50, max_col=2, values_only=True):
        if row and row[0]:
            values[str(row[0]).strip()] = "" if row[1] is None else str(row[1]).strip()
    return values


def check_metadata(meta: dict[str, str], layout: Layout) -> str | None:
    """Why the file is not for this return, or None when it is."""
    contract = layout.contract
    expected = signature(
        whole_number(meta.get("contract_id")) or 0,
        meta.get("period", ""),
        whole_number(meta.get("provider_id")) or 0,
    )
    given = meta.get("signature", "").encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode(), given):
        return (
            "The hidden details in this file have been changed, so it cannot be trusted: "
            "download a fresh template for this return"
        )
    if meta.get("provider_id") != str(contract.provider_id):
        return "This template is for another organisation's contract: download your own"
    if meta.get("contract_id") != str(contract.id):
        return (
            f"This template is for contract {meta.get('contract_reference')}, not "
            f"{contract.reference}: upload it on that contract's return, or download this one's"
        )
    if meta.get("period") != layout.period.label:
        return (
            f"This template is for {meta.get('period')}, not {layout.period.label}: "
            "upload it on that period's return, or download this period's template"
        )
    return None


def _read_return_sheet(sheet, layout: Layout, entries: Entries) -> None:
    wanted = layout.by_key()
    merged = list(sheet.merged_cells.ranges)
    seen: set[str] = set()
    for row in sheet.iter_rows(min_row=1, max_col=EXPLANATION_COLUMN + 1):
        key_cell = row[KEY_COLUMN] if len(row) > KEY_COLUMN else None
        key = str(key_cell.value).strip() if key_cell is not None and key_cell.value else ""
        if key not in wanted:
            continue
        seen.add(key)
        cell = row[VALUE_COLUMN]
        location = f"sheet {sheet.title}, cell {cell.coordinate}"
        entries.where[key] = location
        if _in_merged(cell.coordinate, merged):
            entries.problems.append(
                Problem(key, f"{wanted[key].label}: cell {cell.coordinate} has been merged with "
                        "others: unmerge it and enter the figure on its own")
            )  # fmt: skip
            continue
        if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
            entries.problems.append(
                Problem(key, f"{wanted[key].label}: {location} holds a formula: type the "
                        "figure itself")
            )  # fmt: skip
            continue
        entries.raw[key] = cell.value
        if "%" in (cell.number_format or ""):
            entries.percent_formats.add(key)
        explanation = row[EXPLANATION_COLUMN].value if len(row) > EXPLANATION_COLUMN else None
        if explanation not in (None, ""):
            entries.explanations[key] = str(explanation).strip()[:500]
    missing = [item for item in layout.items if item.key not in seen]
    if missing:
        labels = ", ".join(item.label for item in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        entries.problems.append(
            Problem(None, f"Some rows of the template are missing or their codes in column A "
                    f"were changed ({labels}{more}): download a fresh template")
        )  # fmt: skip


def _in_merged(coordinate: str, merged_ranges) -> bool:
    return any(coordinate in cell_range for cell_range in merged_ranges)


# --- CSV -------------------------------------------------------------------------------


def _decode(content: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused(f"{name} is not a text CSV file")


def read_csv(content: bytes, layout: Layout, name: str = "The file") -> Entries:
    """A CSV of `code,value[,explanation]` lines, with `contract` and `period` lines first.

    A byte-order mark and Excel's semicolon-separated CSV (with decimal commas) are
    understood; unknown codes are reported by line.
    """
    if b"\x00" in content[:4096]:
        raise FileRefused(f"{name} is not a text CSV file")
    text = _decode(content, name)
    first_line = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    entries = Entries()
    wanted = layout.by_key()
    meta: dict[str, str] = {}
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        raise FileRefused(f"{name} could not be read as CSV: check it was saved as CSV") from None
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not any(cells):
            continue
        code = cells[0]
        value = cells[1] if len(cells) > 1 else ""
        if code.lower() in ("code", "key"):
            continue
        if code.lower() in ("contract", "period"):
            meta[code.lower()] = value
            continue
        if code not in wanted:
            entries.problems.append(
                Problem(None, f"Line {number}: '{code}' is not a code in this return: check it "
                        "against the template")
            )  # fmt: skip
            continue
        if delimiter == ";" and wanted[code].unit is not None:
            value = value.replace(".", "").replace(",", ".") if "," in value else value
        entries.raw[code] = value
        entries.where[code] = f"line {number}"
        if len(cells) > 2 and cells[2]:
            entries.explanations[code] = cells[2][:500]
    contract, period = layout.contract, layout.period
    if meta.get("contract", "").upper() != contract.reference.upper():
        entries.problems.insert(
            0,
            Problem(None, f"The CSV must start with a line 'contract,{contract.reference}' "
                    f"(it says '{meta.get('contract', '')}')"),
        )  # fmt: skip
    if meta.get("period", "").upper() != period.label.upper():
        entries.problems.insert(
            0,
            Problem(None, f"The CSV must have a line 'period,{period.label}' "
                    f"(it says '{meta.get('period', '')}')"),
        )  # fmt: skip
    return entries


def write_csv_template(layout: Layout) -> str:
    """The CSV a provider can fill instead of the spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["contract", layout.contract.reference])
    writer.writerow(["period", layout.period.label])
    writer.writerow(["code", "value", "explanation", "what"])
    for item in layout.items:
        label = f"{item.breakdown_label}: {item.label}" if item.breakdown_label else item.label
        writer.writerow([item.key, "", "", label])
    return out.getvalue()


def identify(filename: str, content: bytes) -> tuple[str | None, str | None]:
    """(contract reference, period label) a return file says it is for, read before anything
    else so the command line can find the return; None where the file does not say."""
    name = (filename or "").rsplit("/", 1)[-1]
    if name.lower().endswith(".csv"):
        text = _decode(content, name)
        first_line = text.splitlines()[0] if text.strip() else ""
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        found: dict[str, str] = {}
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        except csv.Error:
            raise FileRefused(f"{name} could not be read as CSV") from None
        for row in rows:
            if len(row) > 1 and row[0].strip().lower() in ("contract", "period"):
                found[row[0].strip().lower()] = row[1].strip()
        return found.get("contract"), found.get("period")
    if not name.lower().endswith(".xlsx"):
        return None, None
    _check_container(content, name)
    # Only the hidden details are wanted here, and the upload's full reading follows, so the
    # fast reader (python-calamine, about 25 times quicker than openpyxl) reads them.
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        if META_SHEET not in book.sheet_names:
            return None, None
        rows = book.get_sheet_by_name(META_SHEET).to_python(skip_empty_area=False)
    except Exception:  # calamine raises several kinds of error for a damaged file
        raise FileRefused(f"{name} is damaged and cannot be opened as a workbook") from None
    meta = {str(row[0]).strip(): str(row[1]).strip() for row in rows[:50]
            if len(row) > 1 and row[0] not in (None, "")}  # fmt: skip
    return meta.get("contract_reference"), meta.get("period")
