"""Board pack figures: its time and peak memory, next to XlsxWriter alone writing the same
cells; and the officers' returns data export of the year, its time and peak memory.

The pack is built as `flask pam board-pack` and the download build it (pam.exports.
board_pack.build), for the last quarter of the benchmark's year: first with the
suppression patterns worked out afresh (under the same time budget as a dashboard's first
view), then again with them worked out, under tracemalloc, for the peak memory Python
allocated while building it. The baseline reads every cell back out of the pack with
python-calamine and writes them, sheet by sheet, with a bare XlsxWriter workbook: what any
implementation writing that content would at least cost.
"""

from __future__ import annotations

import io
import math
import time
import tracemalloc
from contextlib import suppress
from datetime import date

import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import delete, func, select

QUARTER = "2025/26-Q4"
TODAY = date(2026, 11, 23)


def measure_board_pack(app, budget: int, kept: dict) -> dict[str, float]:
    from bench.run import TooSlow, figures_changed, within_budget
    from pam.core.periods import Period
    from pam.exports import board_pack

    period = Period.parse(QUARTER)
    first = math.inf
    with figures_changed(app, kept), app.app_context():
        started = time.perf_counter()
        with suppress(TooSlow), within_budget(budget):
            board_pack.build(period, TODAY)
            first = time.perf_counter() - started
    with app.app_context():  # the patterns as the year's work-out kept them
        body = board_pack.build(period, TODAY)
        warm, pack_peak = _peak(lambda: board_pack.build(period, TODAY))
    cells = _cells(body)
    alone, alone_peak = _peak(lambda: _write_alone(cells))
    return {
        "board pack first build (ms)": first * 1000,
        "board pack build, patterns worked out (ms)": warm * 1000,
        "board pack peak memory (MB)": pack_peak / 1e6,
        "XlsxWriter alone, same cells (ms)": alone * 1000,
        "XlsxWriter alone peak memory (MB)": alone_peak / 1e6,
        "board pack cells": sum(len(row) for rows in cells.values() for row in rows),
    }


def _peak(work) -> tuple[float, int]:
    """(seconds, peak bytes allocated) of one call; the seconds include tracemalloc's own
    cost, so read them only against each other."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        work()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak


def _cells(body: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(body))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _write_alone(cells: dict[str, list[list]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in cells.items():
        sheet = book.add_worksheet(name)
        for number, row in enumerate(rows):
            sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


EXPORT_FIGURES = ("returns data export, the year as .csv (ms)",
                  "returns data export peak memory (MB)", "returns data export rows",
                  "returns data export kept, sent as gzip (ms)",
                  "returns data export kept, sent decompressed (ms)",
                  "returns data export kept, peak memory (MB)",
                  "returns data export kept, size (MB)")  # fmt: skip


def measure_returns_export(app, year: str = "2025-26") -> dict[str, float]:
    """The year's returns data downloaded as .csv through the page an officer uses, its
    pieces counted and dropped as a browser would save them: made (the first download
    after a change: the time, then separately, as tracemalloc slows it, the peak memory
    Python allocated while serving it), then kept (pam.exports.kept), sent as a browser
    asks for it (gzip) and decompressed for a client that does not."""
    from bench.run import signed_in
    from bench.users import OFFICER
    from pam.exports.models import KeptExport
    from pam.extensions import db

    client = signed_in(app, OFFICER)

    def forget_kept() -> None:  # as a change to the year's facts would
        with app.app_context():
            db.session.execute(delete(KeptExport))
            db.session.commit()

    def download(**headers) -> int:
        response = client.get(f"/exports/returns-data.csv?year={year}", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"the returns data export answered {response.status_code}")
        try:
            return sum(piece.count(b"\n") for piece in response.response) - 1  # the header
        finally:
            response.close()

    forget_kept()
    made, rows = _timed(download)
    forget_kept()
    _seconds, peak = _peak(download)
    as_gzip, _ = _timed(lambda: download(**{"Accept-Encoding": "gzip"}))
    decompressed, kept_rows = _timed(download)
    _seconds, kept_peak = _peak(lambda: download(**{"Accept-Encoding": "gzip"}))
    if kept_rows != rows:
        raise RuntimeError(f"the kept export has {kept_rows} rows, the made one {rows}")
    with app.app_context():
        size = db.session.scalar(select(func.length(KeptExport.body)))
    figures = (made * 1000, peak / 1e6, rows, as_gzip * 1000, decompressed * 1000,
               kept_peak / 1e6, (size or 0) / 1e6)  # fmt: skip
    return dict(zip(EXPORT_FIGURES, figures, strict=True))


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    answer = work()
    return time.perf_counter() - started, answer
