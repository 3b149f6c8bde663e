"""The return template a provider downloads: an .xlsx made with XlsxWriter.

Sheet "Return" lists every item of the layout, one per row: its key in column A (what the
import reads, so inserted blank rows, reordered rows or a changed format do not matter),
what it is, the previous period's figure, and the cell to fill in (column F, the only
unlocked cells, each with validation for its unit) with room in column G to explain a large
change. A hidden sheet "_pam" ties the file to its contract, period and organisation with
a signature made from the portal's secret key, so a template edited to point elsewhere is
recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import datetime
from decimal import Decimal

import xlsxwriter
from flask import current_app

from pam.outcomes.models import Unit
from pam.returns.layout import Layout

RETURN_SHEET = "Return"
META_SHEET = "_pam"
KEY_COLUMN, VALUE_COLUMN, EXPLANATION_COLUMN = 0, 5, 6
TEMPLATE_VERSION = "1"

SECTION_TITLES = {
    "measures": "Measures",
    "spend": "Spend",
    "satisfaction": "Service-user satisfaction",
    "equality": "Equality monitoring (counts of service users, never names)",
    "narrative": "Narrative",
}


def signature(contract_id: int, period: str, provider_id: int) -> str:
    """An HMAC of what the template is for: tampering with the hidden details shows."""
    message = f"{TEMPLATE_VERSION}|{contract_id}|{period}|{provider_id}".encode()
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def metadata(layout: Layout) -> dict[str, str]:
    contract = layout.contract
    return {
        "template_version": TEMPLATE_VERSION,
        "contract_id": str(contract.id),
        "contract_reference": contract.reference,
        "provider_id": str(contract.provider_id),
        "period": layout.period.label,
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "signature": signature(contract.id, layout.period.label, contract.provider_id),
    }


def _validation(unit: Unit) -> dict:
    if unit == Unit.COUNT:
        return {"validate": "integer", "criteria": ">=", "value": 0,
                "error_message": "Enter a whole number, 0 or more"}  # fmt: skip
    if unit == Unit.PERCENTAGE:
        return {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 100,
                "error_message": "Enter a percentage from 0 to 100"}  # fmt: skip
    return {"validate": "decimal", "criteria": ">=", "value": 0,
            "error_message": "Enter a number, 0 or more"}  # fmt: skip


def _number(value: Decimal | None):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def write_template(layout: Layout, entered: dict | None = None) -> bytes:
    """The template as .xlsx bytes; `entered` pre-fills answers (a saved draft)."""
    entered = entered or {}
    buffer = io.BytesIO()
    # Nothing typed by a provider may become a live formula in an officer's copy.
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    styles = _styles(book)
    sheet = book.add_worksheet(RETURN_SHEET)
    sheet.protect("", {"format_columns": True, "format_rows": True, "select_locked_cells": True,
                       "select_unlocked_cells": True})  # fmt: skip
    sheet.set_column(KEY_COLUMN, KEY_COLUMN, 22, styles["key"])
    sheet.set_column(1, 1, 48)
    sheet.set_column(2, 2, 26)
    sheet.set_column(3, 3, 11)
    sheet.set_column(4, 5, 16)
    sheet.set_column(6, 6, 48)
    contract, period = layout.contract, layout.period
    sheet.write(0, 1, f"Return for {period.name}", styles["title"])
    sheet.write(1, 1, f"{contract.reference} {contract.title}")
    sheet.write(2, 1, contract.provider.name)
    sheet.write(3, 1, "Fill in the yellow cells in column F only. Do not change column A.",
                styles["hint"])  # fmt: skip
    headers = ["Code", "What", "Breakdown", "Unit", "Previous period", "This period",
               "Explanation of a large change"]  # fmt: skip
    sheet.write_row(5, 0, headers, styles["header"])
    row = 6
    current_section = None
    for item in layout.items:
        if item.section != current_section:
            row += 1
            sheet.write(row, 1, SECTION_TITLES[item.section], styles["section"])
            row += 1
            current_section = item.section
        sheet.write_string(row, KEY_COLUMN, item.key, styles["key"])
        sheet.write(row, 1, item.label if not item.breakdown_label else f"  {item.label}")
        sheet.write(row, 2, item.breakdown_label)
        sheet.write(row, 3, item.unit.label if item.unit else "Text")
        previous = item.previous if isinstance(item.previous, Decimal) else None
        sheet.write(row, 4, _number(previous), styles["number"])
        value = entered.get(item.key)
        if item.is_text:
            sheet.set_row(row, 90)
            sheet.write_string(row, VALUE_COLUMN, str(value or ""), styles["text_input"])
        else:
            prefill = _prefill(value)
            if isinstance(prefill, str):
                sheet.write_string(row, VALUE_COLUMN, prefill, styles["input"])
            else:
                sheet.write(row, VALUE_COLUMN, prefill, styles["input"])
            sheet.data_validation(row, VALUE_COLUMN, row, VALUE_COLUMN, _validation(item.unit))
        if item.section == "measures" and not item.total_key:
            sheet.write(row, EXPLANATION_COLUMN, "", styles["text_input"])
        row += 1
    sheet.freeze_panes(6, 0)
    meta = book.add_worksheet(META_SHEET)
    for index, (name, value) in enumerate(metadata(layout).items()):
        meta.write_string(index, 0, name)
        meta.write_string(index, 1, value)
    meta.very_hidden()
    book.set_properties({"title": f"PAM return {contract.reference} {period.label}",
                         "author": current_app.config["PAM_ORGANISATION_NAME"]})  # fmt: skip
    book.close()
    return buffer.getvalue()


def _prefill(value):
    """A draft answer back in its cell: finite numbers as numbers, anything else as typed."""
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        return str(value)
    return _number(number)


def _styles(book) -> dict:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "hint": book.add_format({"italic": True, "font_color": "#505a5f"}),
        "header": book.add_format({"bold": True, "bottom": 1, "text_wrap": True}),
        "section": book.add_format({"bold": True, "font_size": 12}),
        "key": book.add_format({"font_color": "#505a5f", "font_size": 9}),
        "number": book.add_format({"num_format": "#,##0.##"}),
        "input": book.add_format({"locked": False, "bg_color": "#FFF7BF", "border": 1}),
        "text_input": book.add_format(
            {"locked": False, "bg_color": "#FFF7BF", "border": 1, "text_wrap": True}
        ),
    }
