"""Exports, board packs and funders' returns: every export safe from formula injection in
.csv and .xlsx, every download audited, the board pack's sheets and suppression, the
command line writing the same pack, and the funder's return adding up exactly."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
from flask import g
from markupsafe import Markup
from sqlalchemy import delete, event, func, select, update

from pam.audit import services as audit
from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.core.periods import FinancialYear, Period
from pam.dashboards import ahead, memo
from pam.dashboards.charts import SUPPRESSED
from pam.dashboards.suppression import Pattern
from pam.decisions import services as decision_services
from pam.exports import kept, records, tabular
from pam.exports.funder_return import build as build_funder_return
from pam.exports.models import KeptExport
from pam.exports.tabular import Sheet, csv_row, csv_safe, to_csv, to_xlsx
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.models import Metric
from pam.returns import revisions
from pam.returns.models import ReturnFact, StateRevision
from tests.conftest import FACTORY, report

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
NASTY = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB"]
MOJ = "MoJ victims' services return"


def test_csv_cells_that_would_run_as_formulas_are_prefixed():
    assert [csv_safe(text) for text in NASTY] == [f"'{text}" for text in NASTY]
    assert csv_safe("Referrals") == "Referrals"
    assert csv_safe(Decimal("-5.00")) == Decimal("-5.00")  # numbers stay numbers
    rows = list(csv.reader(io.StringIO(to_csv(Sheet("T", ["A"], [[t] for t in NASTY]))
                                       .decode("utf-8-sig"))))  # fmt: skip
    assert all(row[0].startswith("'") for row in rows[1:])


def test_a_row_is_made_csv_safe_as_each_of_its_cells_would_be():
    cells = [*NASTY, "\rCR", "Referrals", "", None, 0, -5, 1.5, Decimal("-5.00"), True,
             date(2026, 4, 1), datetime(2026, 4, 1, 9, 30, tzinfo=UTC), SUPPRESSED,
             Markup("=1+2"), Markup("Safe")]  # fmt: skip

    def written(row) -> str:
        out = io.StringIO()
        csv.writer(out).writerow(row)
        return out.getvalue()

    assert written(csv_row(cells)) == written([csv_safe(cell) for cell in cells])
    assert csv_row(["=1", Markup("=1"), "a", None]) == ["'=1", "'=1", "a", None]


def test_xlsx_text_cells_stay_text():
    workbook = openpyxl.load_workbook(
        io.BytesIO(to_xlsx([Sheet("T", ["A"], [[t] for t in NASTY])], "T"))
    )
    cells = [row[0] for row in workbook.active.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == NASTY
    assert {cell.data_type for cell in cells} == {"s"}  # strings, never formulas


@pytest.fixture
def hostile_records(dataset):
    """Text a user typed that starts like a formula, in every kind of exported record."""
    north = dataset["north"]
    for record, field, text in ((north, "title", NASTY[0]), (north.provider, "name", NASTY[3])):
        before = audit.snapshot(record)
        setattr(record, field, text)
        audit.record_update(FACTORY, record, before)
    report(north, "2025/26-Q1", RJ01="24", VS02="10")
    decision = decision_services.create_decision(
        FACTORY, {"title": NASTY[1], "decision_type": "grant", "summary": NASTY[2]}, [],
        date(2026, 1, 5),
    )  # fmt: skip
    audit.record("note", actor=FACTORY, summary=NASTY[2], record_type="contracts")
    db.session.commit()
    return {"decision": decision, **dataset}


EXPORTS = [
    "/contracts/export.{fmt}",
    "/decisions/export.{fmt}",
    "/audit/export.{fmt}",
    "/exports/returns-data.{fmt}",
]


@pytest.mark.parametrize("url", EXPORTS)
def test_every_record_export_is_formula_safe_and_audited(hostile_records, client_as, url):
    client = client_as(Role.OFFICER)
    for fmt in ("csv", "xlsx"):
        before = db.session.scalar(select(func.count()).where(AuditEvent.action == "export"))
        response = client.get(url.format(fmt=fmt))
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        cells = _cells(response.data, fmt)
        assert cells, url
        for value, kind in cells:
            if isinstance(value, str) and value.lstrip("'").startswith(("=", "+", "-", "@")):
                if fmt == "csv":
                    assert value.startswith("'"), (url, value)
                else:
                    assert kind == "s", (url, value)
        after = db.session.scalar(select(func.count()).where(AuditEvent.action == "export"))
        assert after == before + 1
    assert client.get(url.format(fmt="pdf")).status_code == 404


def _cells(body: bytes, fmt: str) -> list[tuple[object, str]]:
    if fmt == "csv":
        return [(cell, "s") for row in csv.reader(io.StringIO(body.decode("utf-8-sig")))
                for cell in row]  # fmt: skip
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    return [(cell.value, cell.data_type) for ws in workbook for row in ws.iter_rows()
            for cell in row if cell.value is not None]  # fmt: skip


def test_the_contract_register_export_is_exact(hostile_records, client_as):
    response = client_as(Role.OFFICER).get("/contracts/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["DASH-N"][1] == NASTY[0] and rows["DASH-N"][9] == 60000
    assert rows["DASH-S"][9] == 40000
    assert sheet.freeze_panes == "A2"


def _export_summaries() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.summary)
                                   .where(AuditEvent.action == "export")
                                   .order_by(AuditEvent.sequence)))  # fmt: skip


def test_the_returns_data_export_is_sent_in_pieces_as_it_is_read(dataset, client_as,
                                                                 monkeypatch):  # fmt: skip
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")
    facts = db.session.scalar(select(func.count(ReturnFact.id)))
    monkeypatch.setattr(tabular, "CSV_ROWS_PER_PIECE", 5)
    response = client_as(Role.OFFICER).get("/exports/returns-data.csv?year=2025-26")
    assert response.status_code == 200
    pieces = list(response.response)  # as the server sent them
    assert len(pieces) == facts // 5 + 1  # the header's piece and a piece every 5 rows
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Contract", "Provider", "Financial year"] and len(rows) == facts + 1
    north = [row for row in rows if (row[0], row[6], row[9]) == ("DASH-N", "RJ01", "Total")]
    assert north == [["DASH-N", dataset["north"].provider.name, "2025/26", "Q1", "2025/26-Q1",
                      "Measure", "RJ01", north[0][7], "", "Total", "24.00", "count", "20.00",
                      "Green", "1"]]  # fmt: skip
    assert _export_summaries() == [f"Exported returns data ({facts} rows) as .csv"]
    workbook = openpyxl.load_workbook(
        io.BytesIO(client_as(Role.OFFICER).get("/exports/returns-data.xlsx?year=2025-26").data)
    )  # fmt: skip
    sheet = workbook.active
    assert sheet.freeze_panes == "A4"  # a note, a gap, then the header
    values = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(values) == facts + 1 and values[0][0] == "Contract"
    north_total = next(v for v in values if (v[0], v[6], v[9]) == ("DASH-N", "RJ01", "Total"))
    assert north_total[10] == 24 and north_total[13] == "Green"


def test_an_export_too_long_for_one_worksheet_is_refused_with_a_message(
    dataset, client_as, monkeypatch
):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 5)
    client = client_as(Role.OFFICER)
    response = client.get("/exports/returns-data.xlsx?year=2025-26")
    assert response.status_code == 302 and response.location.endswith("/exports/")
    page = client.get(response.location).data.decode()
    assert page.count("more than an Excel worksheet holds (5): download it as .csv") == 1
    # The page offers one year at a time, in either format.
    assert '<option value="2025-26">2025/26</option>' in page
    assert 'formaction="/exports/returns-data.csv"' in page
    assert _export_summaries() == []  # nothing was sent, so nothing is recorded as sent
    assert client.get("/exports/returns-data.csv?year=2025-26").status_code == 200
    assert client.get("/exports/returns-data.pdf?year=2025-26").status_code == 404
    nonsense = client.get("/exports/returns-data.csv?year=1066-67")
    assert nonsense.status_code == 302  # a year no list offers: back, with the reason
    assert client.get(nonsense.location).data.decode().count(
        "Choose a financial year from the list") == 1  # fmt: skip
    audit_page = client.get("/audit/export.xlsx?action=export")
    assert audit_page.status_code == 200  # a handful of events fits


def test_the_audit_trail_export_holds_the_events_it_counted(hostile_records, client_as):
    client = client_as(Role.ADMINISTRATOR)
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    rows = list(csv.reader(io.StringIO(client.get("/audit/export.csv").data.decode("utf-8-sig"))))
    assert len(rows) == events + 1  # not its own export event, recorded as it began
    assert [int(row[0]) for row in rows[1:]] == sorted(int(row[0]) for row in rows[1:])
    assert _export_summaries()[-1] == f"Exported audit trail ({events} rows) as .csv"


def test_the_board_pack_has_every_section_and_suppresses_small_numbers(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["south"], "2025/26-Q1", RJ01="10", VS02="0")  # 3 people in all
    client = client_as(Role.BOARD_MEMBER)
    response = client.get("/exports/board-pack?period=2025-26-Q1")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:3] == ["Cover", "Summary", "RAG matrix"]
    assert workbook.sheetnames[-3:] == ["Outcomes for victims", "Exceptions", "Decisions"]
    service = workbook[dataset["service"].name[:31]]
    assert len(service._charts) == 1  # a native Excel chart
    values = [v for row in workbook["Outcomes for victims"].iter_rows(values_only=True)
              for v in row]  # fmt: skip
    assert "[c]" in values and 3 not in values
    exceptions = [v for row in workbook["Exceptions"].iter_rows(values_only=True) for v in row]
    assert "DASH-S" in exceptions  # RJ01 10 against 20: Red
    assert db.session.scalar(select(func.count()).where(AuditEvent.record_type == "board_pack"))
    bad = client.get("/exports/board-pack?period=2025-26-M04")
    assert bad.status_code == 302


def _rows(workbook, sheet: str) -> list[tuple]:
    return list(workbook[sheet].iter_rows(values_only=True))


def test_the_board_pack_reads_the_pages_suppression_pattern(dataset, client_as):
    # The review's case: the service sheet showed Q2 (21) beside the outcomes page's
    # year (24) with Q1 (3) hidden. Every figure now follows the one pattern.
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["north"], "2025/26-Q2", RJ01="24", VS02="12")
    report(dataset["south"], "2025/26-Q2", RJ01="24", VS02="9")
    body = client_as(Role.BOARD_MEMBER).get("/exports/board-pack?period=2025-26-Q2").data
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    service = {row[0]: row for row in _rows(workbook, dataset["service"].name[:31])}
    assert service["VS02"][2:] == ("[c]", 10, "[c]", 20)
    assert service["RJ01"][2:] == (24, 20, 48, 40)
    outcomes = {row[0]: row for row in _rows(workbook, "Outcomes for victims")}
    assert outcomes["Victims supported"][1] == "[c]"  # Q2: 21, as on the outcomes page
    officer = client_as(Role.OFFICER).get("/exports/board-pack?period=2025-26-Q2").data
    officer_service = _rows(openpyxl.load_workbook(io.BytesIO(officer)), "Restorative justice")
    assert ("VS02", "Victims supported", "[c]", 10, "[c]", 20) in officer_service  # the pack
    # is for the boards: an officer's download is suppressed too


def test_after_a_change_the_board_pack_is_the_last_one_built_until_the_year_is_worked_out(
    app, dataset, client_as, monkeypatch
):
    """As the pages (pam.dashboards.pages): building a pack would work a pattern out (past
    a server's timeout nationally), so the quarter's last pack is sent, named and audited
    as at when its figures were read, and the year is queued to be worked out."""
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_PATTERNS_ON_ACCEPT", True)
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["south"], "2025/26-Q1", RJ01="24", VS02="12")
    board = client_as(Role.BOARD_MEMBER)
    url = "/exports/board-pack?period=2025-26-Q2"
    first = board.get(url)
    assert first.headers["Content-Disposition"].endswith("filename=board-pack-2025-26-Q2.xlsx")
    report(dataset["north"], "2025/26-Q2", RJ01="30", VS02="2")  # the next quarter's
    # The tests' tiny year stands for a national one: no request works its patterns out.
    monkeypatch.setitem(app.config, "PAM_WORK_OUT_IN_REQUEST_CELLS", 0)
    memo.forget_this_process()  # a server process that has worked nothing out
    worked_out = []
    settle = Pattern._settle
    monkeypatch.setattr(Pattern, "_settle", lambda p: (worked_out.append(p), settle(p))[1])
    as_it_was = board.get(url)
    assert worked_out == [] and as_it_was.data == first.data
    assert "board-pack-2025-26-Q2-as-at-" in as_it_was.headers["Content-Disposition"]
    assert "(being updated)" in _export_summaries()[-1]
    assert ahead.wait_until_done()  # the download queued the year's work-out
    fresh = board.get(url)
    assert fresh.headers["Content-Disposition"].endswith("filename=board-pack-2025-26-Q2.xlsx")
    service = {row[0]: row for row in _rows(openpyxl.load_workbook(io.BytesIO(fresh.data)),
                                            dataset["service"].name[:31])}  # fmt: skip
    assert service["RJ01"][4] == 30  # Q2 actual: the new quarter's figures
    before = {row[0]: row for row in _rows(openpyxl.load_workbook(io.BytesIO(first.data)),
                                           dataset["service"].name[:31])}  # fmt: skip
    assert before["RJ01"][4] is None


def test_a_single_offices_board_pack_is_built_afresh_after_a_change(dataset, client_as):
    """A year whose families are within PAM_WORK_OUT_IN_REQUEST_CELLS is worked out in the
    request (under a second): the pack after a change has the new figures at once."""
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    board = client_as(Role.BOARD_MEMBER)
    url = "/exports/board-pack?period=2025-26-Q2"
    board.get(url)
    report(dataset["north"], "2025/26-Q2", RJ01="30", VS02="2")
    memo.forget_this_process()
    fresh = board.get(url)
    assert fresh.headers["Content-Disposition"].endswith("filename=board-pack-2025-26-Q2.xlsx")
    service = {row[0]: row for row in _rows(openpyxl.load_workbook(io.BytesIO(fresh.data)),
                                            dataset["service"].name[:31])}  # fmt: skip
    assert service["RJ01"][4] == 30
    assert "(being updated)" not in _export_summaries()[-1]


def test_a_red_rate_on_small_counts_is_suppressed_in_the_board_pack(dataset, client_as):
    framework = dataset["north"].framework
    for code, target in (("RJ04", "10"), ("RJ05", "10"), ("RJ09", "80")):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(FACTORY, framework, metric, Decimal(target),
                                     Period.parse("2025/26-Q1"))  # fmt: skip
    db.session.commit()
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10", RJ04="1", RJ05="1", RJ09="50")
    body = client_as(Role.BOARD_MEMBER).get("/exports/board-pack?period=2025-26-Q1").data
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    red = [row for row in _rows(workbook, "Exceptions") if row[:1] == ("DASH-N",)]
    assert ("DASH-N", dataset["north"].provider.name, "RJ09", "2025/26-Q1", "[c]", 80) in red
    service = {row[0]: row for row in _rows(workbook, "Restorative justice")}
    assert service["RJ09"][2:] == ("[c]", 80)  # 1 + 1 victims behind a 50% rate


def test_the_command_line_writes_the_same_board_pack(dataset, client_as, runner, tmp_path):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    downloaded = client_as(Role.OFFICER).get("/exports/board-pack?period=2025-26-Q1").data
    output = tmp_path / "pack.xlsx"
    result = runner.invoke(args=["pam", "board-pack", "--period", "2025/26-Q1", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert _workbook_values(output.read_bytes()) == _workbook_values(downloaded)
    refused = runner.invoke(args=["pam", "board-pack", "--period", "2025/26", "-o", str(output)])
    assert refused.exit_code == 2 and "not a reporting period" in refused.output


def _workbook_values(body: bytes) -> dict:
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    return {ws.title: [row for row in ws.iter_rows(values_only=True)
                       if not any(isinstance(v, str) and v.startswith("Prepared by") for v in row)]
            for ws in workbook}  # fmt: skip


@pytest.mark.skipif(not SOFFICE, reason="LibreOffice is not installed")
def test_the_board_pack_opens_in_libreoffice(dataset, client_as, tmp_path):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    body = client_as(Role.BOARD_MEMBER).get("/exports/board-pack?period=2025-26-Q1").data
    (tmp_path / "pack.xlsx").write_bytes(body)
    subprocess.run(
        [SOFFICE, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / "out"),
         str(tmp_path / "pack.xlsx")],
        check=True, timeout=180, capture_output=True, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert (tmp_path / "out" / "pack.pdf").stat().st_size > 10_000


def test_the_funder_return_adds_up_through_the_dictionary_mappings(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")
    report(dataset["north"], "2025/26-Q2", RJ01="20", VS02="11")
    sheets, returns = build_funder_return(MOJ, FinancialYear(2025), None)
    lines = {row[0]: row for row in sheets[0].rows}
    assert returns == 3
    assert lines["referrals received"][1] == Decimal("63.0")  # 24 + 19 + 20
    assert lines["victims who received support"][1] == Decimal("26.0")  # 10 + 5 + 11
    assert len(sheets[1].rows) == 6  # every contributing figure, traceable
    q1, _ = build_funder_return(MOJ, FinancialYear(2025), 1)
    assert {row[0]: row[1] for row in q1[0].rows}["referrals received"] == Decimal("43.0")
    client = client_as(Role.OFFICER)
    response = client.get(f"/exports/funder-return?funder={MOJ}&year=2025-26")
    assert response.status_code == 200
    assert client.get("/exports/funder-return?funder=Nobody&year=2025-26").status_code == 302
    fifth = client.get(f"/exports/funder-return?funder={MOJ}&year=2025-26&quarter=5")
    assert fifth.status_code == 302 and fifth.location.endswith("/exports/")
    assert "Choose a quarter from the list" in client.get("/exports/").text
    assert (
        client_as(Role.BOARD_MEMBER)
        .get(f"/exports/funder-return?funder={MOJ}&year=2025-26")
        .status_code
        == 403
    )


def test_a_funder_return_averages_each_contracts_rate_over_the_year(dataset):
    # The north's RJ09 over the year is its average (60), the south's 90: the return's
    # line is the average of the contracts' rates (75), not of every figure (70).
    for contract in (dataset["north"], dataset["south"]):
        metric = db.session.scalar(select(Metric).where(Metric.code == "RJ09"))
        outcome_services.add_measure(FACTORY, contract.framework, metric, Decimal("80"),
                                     Period.parse("2025/26-Q1"))  # fmt: skip
    db.session.commit()
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10", RJ09="50")
    report(dataset["north"], "2025/26-Q2", RJ01="24", VS02="10", RJ09="70")
    report(dataset["south"], "2025/26-Q1", RJ01="24", VS02="10", RJ09="90")
    sheets, _ = build_funder_return(MOJ, FinancialYear(2025), None)
    lines = {row[0]: row[1:3] for row in sheets[0].rows}
    assert lines["cope and recover outcomes"] == [
        Decimal("75.0"),
        "Average of the contracts' rates",
    ]
    assert lines["victims who received support"] == [Decimal("30.0"), "Total"]


# --- the returns data, kept -----------------------------------------------------------------


def _download(client, url: str, **headers) -> tuple[object, list[str]]:
    """(the whole response, read to its end, and the SQL it ran while it was sent)."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        response = client.get(url, headers=headers)
        response.get_data()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert response.status_code == 200, url
    return response, statements


def _read_facts(statements: list[str]) -> bool:
    return any("return_facts" in statement for statement in statements)


# What a download may read besides what it sends: who is signed in, the audit chain its event
# joins, the stamps and the kept files.
_AUDITING_AND_KEEPING = {"users", "audit_chain_heads", "fact_revisions", "state_revisions",
                         "kept_exports"}  # fmt: skip


def _kept() -> list[tuple[str, str, int]]:
    db.session.rollback()  # see what the request's own connection wrote
    return db.session.execute(
        select(KeptExport.year, KeptExport.fmt, KeptExport.rows).order_by(KeptExport.fmt)
    ).all()  # fmt: skip


@pytest.mark.parametrize("year", ["2025-26", ""])  # one year, and every year
def test_the_returns_data_is_made_once_for_each_change(dataset, client_as, year):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.OFFICER)
    url = f"/exports/returns-data.csv?year={year}"
    made, statements = _download(client, url)
    assert _read_facts(statements)
    facts = db.session.scalar(select(func.count(ReturnFact.id)))
    assert _kept() == [("2025/26" if year else "", "csv", facts)]

    again, statements = _download(client, url)
    assert not _read_facts(statements)  # the kept file, not the figures
    assert sum("FROM kept_exports" in statement for statement in statements) == 1  # read once
    assert again.data == made.data and "Content-Encoding" not in again.headers
    for refused in ("gzip;q=0", "identity, *;q=0"):  # asked not to: sent as it is
        plain, _ = _download(client, url, **{"Accept-Encoding": refused})
        assert plain.data == made.data and "Content-Encoding" not in plain.headers, refused
    zipped, _ = _download(client, url, **{"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == made.data
    assert zipped.headers["Content-Disposition"] == made.headers["Content-Disposition"]
    assert _export_summaries() == [f"Exported returns data ({facts} rows) as .csv"] * 5

    # Whatever the export reads changes: the next download is made again, and kept.
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="5")  # the year's facts
    after_return, statements = _download(client, url)
    assert _read_facts(statements) and b"DASH-S" in after_return.data
    provider = dataset["south"].provider
    before = audit.snapshot(provider)
    provider.name = "Renamed Mediation Trust"  # the return states, and the board inputs
    audit.record_update(FACTORY, provider, before)
    db.session.commit()
    renamed, statements = _download(client, url)
    assert _read_facts(statements) and b"Renamed Mediation Trust" in renamed.data
    assert _download(client, url)[0].data == renamed.data
    assert len(_kept()) == 1  # the newest file replaced the older


def test_an_xlsx_is_kept_as_it_was_sent(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    client = client_as(Role.OFFICER)
    url = "/exports/returns-data.xlsx?year=2025-26"
    made, _ = _download(client, url)
    again, statements = _download(client, url, **{"Accept-Encoding": "gzip"})
    assert not _read_facts(statements) and "Content-Encoding" not in again.headers
    assert again.data == made.data
    sheet = openpyxl.load_workbook(io.BytesIO(again.data)).active
    facts = db.session.scalar(select(func.count(ReturnFact.id)))
    assert sheet["A3"].value == "Contract" and sheet.max_row == 3 + facts
    assert [fmt for _, fmt, _ in _kept()] == ["xlsx"]


def test_a_download_cut_short_keeps_nothing(app, dataset, client_as, monkeypatch):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    monkeypatch.setattr(tabular, "CSV_ROWS_PER_PIECE", 2)
    client = client_as(Role.OFFICER)
    response = client.get("/exports/returns-data.csv?year=2025-26", buffered=False)
    pieces = iter(response.response)
    assert next(pieces).startswith("\ufeffContract".encode())
    response.close()  # the officer cancelled it
    assert _kept() == []
    with app.test_request_context():  # and the piece that was sent queued nothing to keep
        key = kept.Key.now("returns-data", "2025/26", "csv")
        pieces = kept.keeping(key, iter([b"a\n", b"b\n"]), 2)
        next(pieces)
        pieces.close()
        assert not g.get(kept._WAITING)
        assert list(kept.keeping(key, iter([b"a\n"]), 1)) == [b"a\n"]
        assert g.get(kept._WAITING)  # a whole one did
    assert client.get("/exports/returns-data.csv?year=2025-26").status_code == 200
    assert len(_kept()) == 1  # the next whole download is kept


def test_a_change_while_the_rows_are_read_is_not_kept(dataset, client_as, monkeypatch):
    """A file is kept under the stamps read before its rows only if they stand after the
    last row: else a file holding older figures would be kept under newer stamps."""
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    rows_of = records._returns_data_rows

    def changed_meanwhile(query):
        for number, row in enumerate(rows_of(query)):
            if number == 1:  # as another worker's commit would, while the rows are read
                db.session.execute(
                    update(StateRevision).where(StateRevision.name == revisions.BOARD_INPUTS)
                    .values(revision="changed meanwhile")
                )  # fmt: skip
            yield row

    monkeypatch.setattr(records, "_returns_data_rows", changed_meanwhile)
    client = client_as(Role.OFFICER)
    sent, _ = _download(client, "/exports/returns-data.csv?year=2025-26")
    facts = db.session.scalar(select(func.count(ReturnFact.id)))
    assert len(sent.data.decode("utf-8-sig").splitlines()) == facts + 1  # sent whole
    assert _kept() == []


def test_a_file_too_big_to_keep_is_sent_whole(dataset, client_as, monkeypatch):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    monkeypatch.setattr(kept, "KEEP_AT_MOST", 100)
    client = client_as(Role.OFFICER)
    first, _ = _download(client, "/exports/returns-data.csv?year=2025-26")
    assert _kept() == []
    second, statements = _download(client, "/exports/returns-data.csv?year=2025-26")
    assert _read_facts(statements) and second.data == first.data


def test_a_kept_file_is_sent_to_no_one_the_export_is_not_for(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    url = "/exports/returns-data.csv?year=2025-26"
    assert client_as(Role.OFFICER).get(url).status_code == 200
    assert len(_kept()) == 1
    for role in (Role.PROVIDER, Role.BOARD_MEMBER):
        response = client_as(role).get(url)
        assert response.status_code in (403, 404) and b"DASH-N" not in response.data


def test_the_returns_data_reads_no_table_that_no_stamp_watches(dataset, client_as):
    """What a kept file is kept under must change whenever what it was made from does."""
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    for year in ("2025-26", ""):
        _, statements = _download(client_as(Role.OFFICER), f"/exports/returns-data.csv?year={year}")
        tables = {table for statement in statements if statement.lstrip().startswith("SELECT")
                  for table in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)', statement)}  # fmt: skip
        assert "return_facts" in tables
        assert tables - revisions.WATCHED <= _AUDITING_AND_KEEPING, year
        db.session.execute(delete(KeptExport))
        db.session.commit()
