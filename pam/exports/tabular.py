"""Tables out of PAM, as .csv and .xlsx, safe from formula injection.

A cell of text that starts with =, +, -, @ (or a tab or carriage return) would run as a
formula when a spreadsheet opens the file: a provider's narrative could then reach an
officer's machine. In .xlsx every text cell is written as a string (XlsxWriter with
strings_to_formulas off, and write_string), so it stays text in Excel and LibreOffice;
in .csv, which has no types, such a cell is prefixed with an apostrophe, as OWASP
recommends. Numbers and dates are written as numbers and dates, never as text.

The .xlsx layout is what a finance team expects: bold frozen header row, filters,
column widths fitted to the contents, number formats, landscape A4 fitted to one page
wide, the header repeated on every printed page.

A LongSheet (every figure of a year, the whole audit trail: hundreds of thousands of rows
at national scale) is never held in memory: its rows are read from the database as they
are written, the .csv sent in pieces as it is made, the .xlsx written by XlsxWriter's
constant-memory mode to a temporary file and sent from there.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from pam.dashboards.charts import SUPPRESSED

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # one Excel worksheet, header and notes included
CSV_ROWS_PER_PIECE = 2000  # a streamed .csv is sent in pieces of this many rows
SHEET_NAME_LIMIT = 31
FORMATS = {
    "money": "£#,##0.00",
    "pounds": "£#,##0",
    "count": "#,##0",
    "number": "#,##0.0",
    "percent": '0.0"%"',
    "date": "d mmm yyyy",
    "datetime": "d mmm yyyy hh:mm",
}


class _Columns:
    """What Sheet and LongSheet share: each column's number format."""

    formats: list[str]

    def format_of(self, column: int) -> str:
        return self.formats[column] if column < len(self.formats) else ""


@dataclass
class Sheet(_Columns):
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    # Per column: a key of FORMATS, or "" for text.
    formats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # lines above the table


@dataclass
class LongSheet(_Columns):
    """A sheet too long to hold in memory: its rows are read once, in order, as they are
    written, so its column widths are given rather than fitted to the contents."""

    title: str
    headers: list[str]
    rows: Iterable[list[Any]]
    count: int  # counted before the rows are read: for the audit trail and Excel's limit
    formats: list[str] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fits_one_worksheet(self) -> bool:
        lines_above = len(self.notes) + (1 if self.notes else 0) + 1  # notes, gap, header
        return self.count + lines_above <= XLSX_MAX_ROWS


def csv_safe(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would run as a formula is
    prefixed with an apostrophe; numbers and dates are left as they are."""
    if value is None:
        return ""
    if value is SUPPRESSED:
        return "[c]"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(DANGEROUS_START) else text


# Cells csv.writer writes as they are (None as an empty cell), as csv_safe would.
_WRITTEN_AS_THEY_ARE = frozenset({int, float, Decimal, bool, type(None)})


def csv_row(row: Iterable[Any]) -> list[Any]:
    """csv_safe for every cell of a row. A national export is millions of cells, most of
    them text: text is checked here, not in a call per cell (half the export's time)."""
    return [
        (f"'{value}" if value.startswith(DANGEROUS_START) else value) if type(value) is str
        else value if type(value) in _WRITTEN_AS_THEY_ARE
        else csv_safe(value)
        for value in row
    ]  # fmt: skip


def to_csv(sheet: Sheet) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads £ and accents correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(sheet.headers))
    for row in sheet.rows:
        writer.writerow(csv_row(row))
    return out.getvalue().encode("utf-8-sig")


def csv_pieces(sheet: LongSheet) -> Iterator[bytes]:
    """A long sheet as .csv (UTF-8 with a byte-order mark, as to_csv), CSV_ROWS_PER_PIECE
    rows at a time, read as they are sent."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(csv_row(sheet.headers))
    for number, row in enumerate(sheet.rows, start=1):
        writer.writerow(csv_row(row))
        if number % CSV_ROWS_PER_PIECE == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


# What every workbook PAM writes is made with: text never becomes a formula or a link.
_WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": FORMATS["date"],
    "remove_timezone": True,
}


def new_workbook(buffer: io.BytesIO) -> Workbook:
    """A workbook that never turns text into formulas or links."""
    return xlsxwriter.Workbook(buffer, {"in_memory": True, **_WORKBOOK_OPTIONS})


def xlsx_pieces(sheet: LongSheet, piece_bytes: int = 1 << 16) -> Iterator[bytes]:
    """A long sheet as .xlsx: written row by row in XlsxWriter's constant-memory mode to a
    temporary file (a zip cannot be sent before it is finished), then sent from it."""
    with tempfile.TemporaryDirectory(prefix="pam-export-") as folder:
        path = os.path.join(folder, "export.xlsx")
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, **_WORKBOOK_OPTIONS})
        workbook.set_properties({"title": sheet.title, "author": "PAM", "company": "OPCC"})
        styles = Styles(workbook)
        ws = workbook.add_worksheet(sheet_name(sheet.title))
        for col, width in enumerate(sheet.widths):
            ws.set_column(col, col, width)
        write_table(ws, sheet, styles)
        print_setup(ws, sheet.title)
        workbook.close()
        with open(path, "rb") as written:
            while piece := written.read(piece_bytes):
                yield piece


class Styles:
    """The workbook's cell formats, made once (XlsxWriter keeps one object per format)."""

    def __init__(self, workbook: Workbook):
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#f3f2f1", "bottom": 1, "text_wrap": True,
             "valign": "top"}
        )  # fmt: skip
        self.title = workbook.add_format({"bold": True, "font_size": 16})
        self.subtitle = workbook.add_format({"bold": True, "font_size": 12})
        self.note = workbook.add_format({"italic": True, "font_color": "#505a5f"})
        self.text = workbook.add_format({"valign": "top"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.numbers = {
            name: workbook.add_format({"num_format": code, "valign": "top"})
            for name, code in FORMATS.items()
        }
        self.suppressed = workbook.add_format({"align": "right", "font_color": "#505a5f"})
        self.rag = {
            "Green": workbook.add_format({"bg_color": "#cce2d8", "font_color": "#005a30"}),
            "Amber": workbook.add_format({"bg_color": "#fff7bf", "font_color": "#594d00"}),
            "Red": workbook.add_format({"bg_color": "#f4cdc6", "font_color": "#942514"}),
        }


def write_cell(ws: Worksheet, row: int, col: int, value: Any, fmt: str, styles: Styles) -> None:
    """One cell, by type: text always as a string, so it can never become a formula."""
    if value is None:
        ws.write_blank(row, col, None, styles.text)
    elif value is SUPPRESSED:
        ws.write_string(row, col, "[c]", styles.suppressed)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None), styles.numbers["datetime"])
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day),
                          styles.numbers["date"])  # fmt: skip
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number_format = styles.numbers.get(fmt) or styles.numbers["number"]
        if fmt == "" and isinstance(value, int):
            number_format = styles.numbers["count"]
        ws.write_number(row, col, float(value), number_format)
    else:
        text = str(value)
        rag = styles.rag.get(text.split(" (")[0]) if fmt == "rag" else None
        style = rag or (styles.wrap if len(text) > 60 else styles.text)
        ws.write_string(row, col, text, style)


def write_table(
    ws: Worksheet,
    sheet: Sheet | LongSheet,
    styles: Styles,
    first_row: int = 0,
    *,
    freeze: bool = True,
) -> int:
    """The sheet's notes, header and rows from first_row, in order (a LongSheet's rows are
    read once, as they are written); returns the next free row."""
    row = first_row
    for note in sheet.notes:
        ws.write_string(row, 0, note, styles.note)
        row += 1
    if sheet.notes:
        row += 1
    header_row = row
    for col, heading in enumerate(sheet.headers):
        ws.write_string(row, col, heading, styles.header)
    for values in sheet.rows:
        row += 1
        for col, value in enumerate(values):
            write_cell(ws, row, col, value, sheet.format_of(col), styles)
    if freeze:
        ws.freeze_panes(header_row + 1, 0)
        ws.repeat_rows(header_row)
    if row > header_row and sheet.headers:
        ws.autofilter(header_row, 0, row, len(sheet.headers) - 1)
    if isinstance(sheet, Sheet):
        _fit_columns(ws, sheet)
    return row + 1


def _fit_columns(ws: Worksheet, sheet: Sheet) -> None:
    for col, heading in enumerate(sheet.headers):
        longest = max([len(heading) + 2, *(_width(r[col]) for r in sheet.rows if col < len(r))])
        ws.set_column(col, col, min(max(longest, 8), 60))


def _width(value: Any) -> int:
    if isinstance(value, (date, datetime)):
        return 12
    if isinstance(value, (int, float, Decimal)):
        return len(f"{value:,.2f}") + 2
    return len(str(value or "")) + 1


def print_setup(ws: Worksheet, title: str) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many long as needed
    ws.set_header(f'&L&"Arial,Bold"{_header_safe(title)}&R&D')
    ws.set_footer("&LPAM&RPage &P of &N")


def _header_safe(text: str) -> str:
    """Header text with its ampersands doubled (& starts a code in Excel headers)."""
    return text.replace("&", "&&")[:200]


def sheet_name(title: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique worksheet name: at most 31 characters, none of []:*?/\\."""
    clean = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()[:SHEET_NAME_LIMIT]
    clean = clean.strip("'") or "Sheet"
    name, number = clean, 2
    used = {existing.lower() for existing in taken}
    while name.lower() in used:
        suffix = f" ({number})"
        name = clean[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        number += 1
    return name


def to_xlsx(sheets: list[Sheet], title: str, header_prefix: str = "") -> bytes:
    """A workbook with one formatted worksheet per Sheet; each printed page is headed with
    the sheet's title (after header_prefix, e.g. the funder's name)."""
    buffer = io.BytesIO()
    workbook = new_workbook(buffer)
    workbook.set_properties({"title": title, "author": "PAM", "company": "OPCC"})
    styles = Styles(workbook)
    names: list[str] = []
    for sheet in sheets:
        name = sheet_name(sheet.title, names)
        names.append(name)
        ws = workbook.add_worksheet(name)
        write_table(ws, sheet, styles)
        print_setup(ws, f"{header_prefix}{sheet.title}")
    workbook.close()
    return buffer.getvalue()
