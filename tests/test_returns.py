"""Quarterly returns: the template, every bad input, and the full submit-query-accept cycle.

Templates are filled with openpyxl, a different writer from the XlsxWriter that made them,
as a provider's Excel or LibreOffice would be.
"""

from __future__ import annotations

import html
import io
import os
import shutil
import subprocess
import threading
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from pam.auth.models import Role
from pam.core.periods import Period
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric
from pam.returns import services
from pam.returns.imports import Entries
from pam.returns.models import ProviderReturn, ReturnSource, ReturnStatus, ReturnVersion
from pam.returns.workflow import CONCURRENT
from tests.conftest import FACTORY, login, valid_answers

PERIOD = Period.parse("2025/26-Q2")
SIGN_OFF = {"signed_off_by": "Amy Turner, Service manager", "confirm": "y"}


@pytest.fixture
def setup(app, make_contract, make_organisation, make_user, login_as, client_as):
    """A live contract with three measures (a count with a breakdown, a rate, days)."""
    seed_dictionary(FACTORY)
    provider = make_organisation("Purbeck Mediation")
    contract = make_contract(provider, reference="RJ-1")
    framework = outcome_services.framework_for(FACTORY, contract)
    for code, target in (("RJ01", "30"), ("RJ08", "85"), ("RJ10", "5")):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(
            FACTORY, framework, metric, Decimal(target), Period.parse("2025/26-Q1")
        )
    db.session.commit()
    user = make_user(role=Role.PROVIDER, organisation=provider, full_name="Amy Turner")
    return {
        "contract": contract,
        "provider": login_as(user),
        "user": user,
        "officer": client_as(Role.OFFICER),
        "base": f"/contracts/{contract.id}/returns/{PERIOD.slug}",
    }


def template(setup, period_slug=PERIOD.slug) -> bytes:
    url = f"/contracts/{setup['contract'].id}/returns/{period_slug}/template.xlsx"
    response = setup["provider"].get(url)
    assert response.status_code == 200, response.data
    return response.data


def fill(content: bytes, answers: dict, edit=None) -> bytes:
    """Fill a template's column F by the keys in column A, as a spreadsheet user would."""
    book = load_workbook(io.BytesIO(content))
    sheet = book["Return"]
    for row in sheet.iter_rows(min_row=1):
        key = row[0].value
        if key in answers:
            row[5].value = answers[key]
    if edit:
        edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def answers_for(setup, **changes) -> dict:
    layout = services.layout_for(setup["contract"], PERIOD)
    answers = {key: _typed(value) for key, value in valid_answers(layout).items()}
    answers.update(changes)
    return answers


def _typed(value: str):
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    return int(number) if number == number.to_integral_value() else float(number)


def upload(setup, content: bytes, name="return.xlsx", client=None, **form):
    client = client or setup["provider"]
    data = {**SIGN_OFF, **form, "file": (io.BytesIO(content), name)}
    response = client.post(f"{setup['base']}/upload", data=data, content_type="multipart/form-data")
    response.text = html.unescape(response.get_data(as_text=True))
    return response


def versions() -> int:
    return db.session.scalar(select(func.count(ReturnVersion.id)))


def test_the_template_lays_out_the_contracts_measures(setup):
    book = load_workbook(io.BytesIO(template(setup)))
    assert book.sheetnames == ["Return", "_pam"]
    assert book["_pam"].sheet_state == "veryHidden"
    sheet = book["Return"]
    keys = {row[0].value: row for row in sheet.iter_rows() if row[0].value}
    assert {"K:RJ01", "K:RJ01:referral_source:police", "K:RJ08", "K:RJ10", "S:spend"} <= set(keys)
    assert "N:achievements" in keys and "E:age:18-to-24" in keys
    assert sheet.protection.sheet
    value_cell = keys["K:RJ01"][5]
    assert value_cell.protection.locked is False and keys["K:RJ01"][1].protection.locked is True
    ranges = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    assert ranges[value_cell.coordinate].type == "whole"
    assert ranges[keys["K:RJ08"][5].coordinate].type == "decimal"
    assert ranges[keys["K:RJ08"][5].coordinate].formula2 == "100"


def test_full_cycle_upload_query_resubmit_accept(setup):
    filled = fill(template(setup), answers_for(setup, **{"K:RJ01": 32}))
    response = upload(setup, filled)
    assert response.status_code == 302, response.data.decode()
    provider_return = db.session.scalar(select(ProviderReturn))
    assert provider_return.status == ReturnStatus.SUBMITTED
    assert provider_return.latest.figure("K:RJ01") == Decimal("32")
    assert provider_return.latest.file.filename == "return.xlsx"

    officer = setup["officer"]
    missing_comment = officer.post(f"{setup['base']}/review", data={"decision": "queried"})
    assert "Say what the provider needs to look at" in missing_comment.data.decode()
    officer.post(
        f"{setup['base']}/review",
        data={"decision": "queried", "comment": "Referrals look high: check police figures"},
    )
    page = setup["provider"].get(setup["base"]).text
    assert "Referrals look high: check police figures" in page

    web = answers_for(setup, **{"K:RJ01": "30"})
    response = setup["provider"].post(f"{setup['base']}/form", data={**web, **SIGN_OFF})
    assert response.status_code == 302, response.data.decode()
    officer.post(f"{setup['base']}/review", data={"decision": "accepted"})
    db.session.expire_all()
    provider_return = db.session.scalar(select(ProviderReturn))
    assert provider_return.status == ReturnStatus.ACCEPTED
    assert [v.number for v in provider_return.versions] == [1, 2]
    assert provider_return.accepted_version.figure("K:RJ01") == Decimal("30")
    page = officer.get(setup["base"]).text
    assert "Accepted" in page and "Version 2" in page

    locked = setup["provider"].post(f"{setup['base']}/form", data={**web, **SIGN_OFF})
    assert "accepted and is locked: a correction needs a reason" in locked.data.decode()
    corrected = setup["provider"].post(
        f"{setup['base']}/form",
        data={**web, "K:RJ01": "31", **SIGN_OFF, "correction_reason": "One referral missed"},
    )
    assert corrected.status_code == 302
    db.session.expire_all()
    provider_return = db.session.scalar(select(ProviderReturn))
    assert provider_return.status == ReturnStatus.SUBMITTED
    assert provider_return.accepted_version.number == 2  # the accepted figures still count
    assert provider_return.latest.correction_reason == "One referral missed"


def test_a_spreadsheet_saved_by_another_program_still_imports(setup):
    def reshape(book):
        sheet = book["Return"]
        sheet.insert_rows(8, amount=3)  # blank rows
        book.create_sheet("My notes")["A1"] = "working"
        for row in sheet.iter_rows():
            row[5].number_format = "0.00"  # formats changed

    answers = answers_for(setup)
    answers = {key: str(value) for key, value in answers.items()}  # numbers stored as text
    response = upload(setup, fill(template(setup), answers, reshape))
    assert response.status_code == 302, response.data.decode()
    assert versions() == 1


def test_a_percentage_formatted_cell_is_read_as_a_percentage(setup):
    def as_percent(book):
        sheet = book["Return"]
        for row in sheet.iter_rows():
            if row[0].value == "K:RJ08":
                row[5].value = 0.875
                row[5].number_format = "0.0%"

    assert upload(setup, fill(template(setup), answers_for(setup), as_percent)).status_code == 302
    assert db.session.scalar(select(ReturnVersion)).figure("K:RJ08") == Decimal("87.5")


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({"K:RJ01": "twelve"}, ["Referrals received: 'twelve' is not a number (sheet Return"]),
        ({"K:RJ01": -3}, ["'-3' is below 0"]),
        ({"K:RJ01": 12.5}, ["'12.5' is not a whole number"]),
        ({"K:RJ08": 120}, ["Victim satisfaction: '120' is more than 100%"]),
        ({"K:RJ01": None}, ["Referrals received: enter a figure, or 0 if there were none"]),
        ({"N:achievements": None}, ["Achievements this period: enter some text"]),
        ({"K:RJ01:referral_source:police": 4}, ["source figures add up to 4 but the total is 10"]),
        ({"Q:satisfied": 25}, ["cannot be more than those who gave feedback"]),
        ({"K:RJ01": "twelve", "K:RJ10": -1, "S:spend": "lots"}, ["'twelve'", "'-1'", "'lots'"]),
    ],
)  # fmt: skip
def test_bad_figures_are_all_reported_with_their_cells(setup, changes, messages):
    response = upload(setup, fill(template(setup), answers_for(setup, **changes)))
    body = response.text
    assert response.status_code == 200
    for message in messages:
        assert message in body
    assert versions() == 0
    provider_return = db.session.scalar(select(ProviderReturn))
    assert provider_return.has_draft and provider_return.draft_problems  # nothing typed lost


def test_formulas_and_merged_cells_are_refused(setup):
    def formula_and_merge(book):
        sheet = book["Return"]
        rows = {row[0].value: row for row in sheet.iter_rows() if row[0].value}
        rows["K:RJ01"][5].value = "=10+2"
        spend = rows["S:spend"][5]
        sheet.merge_cells(f"{spend.coordinate}:G{spend.row}")

    body = upload(setup, fill(template(setup), answers_for(setup), formula_and_merge)).text
    assert "holds a formula: type the figure itself" in body
    assert "has been merged with others" in body
    assert versions() == 0


def test_a_missing_or_renamed_sheet_is_explained(setup):
    def rename(book):
        book["Return"].title = "Q2 figures"

    body = upload(setup, fill(template(setup), answers_for(setup), rename)).text
    assert "The sheet named 'Return' is missing" in body
    assert versions() == 0


def test_a_template_for_another_period_contract_or_organisation_is_refused(
    setup, make_contract, make_organisation
):
    other_period = fill(template(setup, "2025-26-Q1"), answers_for(setup))
    assert "This template is for 2025/26-Q1, not 2025/26-Q2" in upload(setup, other_period).text

    def point_elsewhere(book):
        meta = book["_pam"]
        for row in meta.iter_rows():
            if row[0].value == "contract_id":
                row[1].value = "999"

    tampered = fill(template(setup), answers_for(setup), point_elsewhere)
    assert "hidden details in this file have been changed" in upload(setup, tampered).text

    sibling = make_contract(setup["contract"].provider, reference="RJ-2")
    framework = outcome_services.framework_for(FACTORY, sibling)
    metric = db.session.scalar(select(Metric).where(Metric.code == "RJ01"))
    outcome_services.add_measure(FACTORY, framework, metric, Decimal(5), Period.parse("2025/26-Q1"))
    db.session.commit()
    sibling_template = setup["provider"].get(
        f"/contracts/{sibling.id}/returns/{PERIOD.slug}/template.xlsx"
    )
    body = upload(setup, sibling_template.data).text
    assert "This template is for contract RJ-2, not RJ-1" in body

    stranger = make_contract(make_organisation("Other Charity"), reference="RJ-9")
    framework = outcome_services.framework_for(FACTORY, stranger)
    outcome_services.add_measure(FACTORY, framework, metric, Decimal(5), Period.parse("2025/26-Q1"))
    db.session.commit()
    their_template = setup["officer"].get(
        f"/contracts/{stranger.id}/returns/{PERIOD.slug}/template.xlsx"
    )
    body = upload(setup, their_template.data).text
    assert "This template is for another organisation" in body
    assert versions() == 0


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    return out.getvalue()


def _blank_workbook() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("return.xlsm", b"PK\x03\x04", "is a .xlsm file: save it as an Excel Workbook (.xlsx)"),
        ("return.xls", b"\xd0\xcf\x11\xe0", "is a .xls file: save it as an Excel Workbook"),
        ("return.xlsx", b"", "return.xlsx is empty"),
        ("return.xlsx", b"%PDF-1.4 not a spreadsheet", "is not really an .xlsx workbook"),
        ("return.xlsx", b"PK\x03\x04 damaged", "is damaged and cannot be opened"),
        ("return.xlsx", _zip_bomb(), "unpacks to far more than a return template could"),
        ("return.xlsx", _blank_workbook(), "is not a PAM return template"),
        ("return.pdf", b"%PDF-", "must be the .xlsx return template or a .csv file"),
    ],
)
def test_files_that_are_not_a_safe_xlsx_are_refused(setup, name, content, message):
    body = upload(setup, content, name=name).text
    assert message in body.replace("&#39;", "'")
    assert versions() == 0


def test_a_file_over_the_size_limit_is_refused(setup, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAM_MAX_UPLOAD_BYTES", 2000)
    body = upload(setup, template(setup)).text
    assert "must be smaller than" in body
    assert versions() == 0


def csv_for(setup, delimiter=",", bom=False, extra_lines=(), **changes) -> bytes:
    answers = answers_for(setup, **changes)
    lines = [f"contract{delimiter}RJ-1", f"period{delimiter}2025/26-Q2", f"code{delimiter}value"]
    for key, value in answers.items():
        text = str(value)
        if delimiter == ";":
            text = text.replace(".", ",")
        if value is not None:
            lines.append(f'{key}{delimiter}"{text}"')
    lines.extend(extra_lines)
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def test_csv_with_bom_and_semicolons_imports(setup):
    response = upload(
        setup, csv_for(setup, delimiter=";", bom=True, **{"S:spend": 1234.5}), "q2.csv"
    )
    assert response.status_code == 302, response.data.decode()
    version = db.session.scalar(select(ReturnVersion))
    assert version.source == ReturnSource.CSV
    assert Decimal(version.sections["S:spend"]) == Decimal("1234.50")


def test_csv_with_unknown_codes_is_refused_by_line(setup):
    body = upload(setup, csv_for(setup, extra_lines=["RJ99,5"]), "q2.csv").text
    assert "'RJ99' is not a code in this return" in body
    assert versions() == 0


def test_large_swings_need_an_explanation(setup):
    previous = Period.parse("2025/26-Q1")
    earlier = services.return_for(FACTORY, setup["contract"], previous)
    layout = services.layout_for(setup["contract"], previous)
    services.submit_return(
        FACTORY, earlier, Entries(raw=valid_answers(layout)), signed_off_by="x",
        source=ReturnSource.WEB,
    )  # fmt: skip
    services.review_return(FACTORY, earlier, "accepted", "")
    db.session.commit()
    answers = answers_for(setup, **{"K:RJ01": 40})  # 10 -> 40
    body = upload(setup, fill(template(setup), answers)).text
    assert "Referrals received: this is a large change on the previous period (10)" in body
    assert versions() == 1

    def explain(book):
        for row in book["Return"].iter_rows():
            if row[0].value == "K:RJ01":
                row[6].value = "New police referral pathway started in July"

    assert upload(setup, fill(template(setup), answers, explain)).status_code == 302
    version = db.session.scalar(select(ReturnVersion).order_by(ReturnVersion.id.desc()))
    assert version.explanations == {"K:RJ01": "New police referral pathway started in July"}


def test_a_refused_upload_keeps_the_previous_version_intact(setup):
    assert upload(setup, fill(template(setup), answers_for(setup))).status_code == 302
    setup["officer"].post(f"{setup['base']}/review", data={"decision": "queried", "comment": "x"})
    upload(setup, fill(template(setup), answers_for(setup, **{"K:RJ01": "lots"})))
    db.session.expire_all()
    provider_return = db.session.scalar(select(ProviderReturn))
    assert [v.number for v in provider_return.versions] == [1]
    assert provider_return.latest.figure("K:RJ01") == Decimal("10")
    assert provider_return.status == ReturnStatus.QUERIED
    form = setup["provider"].get(f"{setup['base']}/form").text
    assert 'value="lots"' in form and "is not a number" in form  # the draft comes back


def test_a_draft_saved_online_comes_back_and_in_the_template(setup):
    setup["provider"].post(
        f"{setup['base']}/form",
        data={"K:RJ01": "17", "N:achievements": "Half done", "save_draft": "y"},
    )
    form = setup["provider"].get(f"{setup['base']}/form").text
    assert 'value="17"' in form and "Half done" in form
    book = load_workbook(io.BytesIO(template(setup)))
    row = next(r for r in book["Return"].iter_rows() if r[0].value == "K:RJ01")
    assert row[5].value == 17


def test_the_same_return_uploaded_twice_at_once_is_stored_once(setup, app):
    filled = fill(template(setup), answers_for(setup))
    clients = [login(app.test_client(), setup["user"]) for _ in range(2)]
    results: list[int] = []
    bodies: list[str] = []
    barrier = threading.Barrier(2)

    def send(client):
        barrier.wait()
        response = upload(setup, filled, client=client)
        results.append(response.status_code)
        bodies.append(response.text)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [200, 302]  # one submitted; the other told why, and kept
    loser = next(body for body, status in zip(bodies, results, strict=True) if status == 200)
    assert CONCURRENT in loser or "awaiting review" in loser
    db.session.expire_all()
    assert versions() == 1
    assert db.session.scalar(select(func.count(ProviderReturn.id))) == 1


def test_overdue_returns_are_flagged_to_provider_and_officer(setup):
    listing = setup["provider"].get("/returns?show=overdue").text
    assert "RJ-1" in listing and 'govuk-tag--red">Overdue' in listing
    contract_page = setup["officer"].get(f"/contracts/{setup['contract'].id}").text
    assert "Overdue" in contract_page
    home = setup["provider"].get("/home").text
    assert "returns overdue" in home  # 2025/26-Q1 onwards, none sent


def test_officers_cannot_submit_and_providers_cannot_review(setup):
    assert setup["officer"].get(f"{setup['base']}/upload").status_code == 403
    upload(setup, fill(template(setup), answers_for(setup)))
    refused = setup["provider"].post(f"{setup['base']}/review", data={"decision": "accepted"})
    assert refused.status_code == 404
    assert db.session.scalar(select(ProviderReturn)).status == ReturnStatus.SUBMITTED


def test_command_line_template_and_import(setup, runner, tmp_path):
    path = tmp_path / "q2.xlsx"
    result = runner.invoke(
        args=[
            "pam",
            "return-template",
            "--contract",
            "rj-1",
            "--period",
            "2025/26-Q2",
            "-o",
            str(path),
        ]
    )
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(
        fill(path.read_bytes(), answers_for(setup, **{"K:RJ01": "twelve", "K:RJ08": 101}))
    )
    refused = runner.invoke(args=["pam", "import-return", str(bad), "--as", setup["user"].email])
    assert refused.exit_code == 1
    assert "'twelve' is not a number (sheet Return, cell F" in refused.output
    assert "'101' is more than 100%" in refused.output
    assert versions() == 0
    good = tmp_path / "good.xlsx"
    good.write_bytes(fill(path.read_bytes(), answers_for(setup)))
    done = runner.invoke(args=["pam", "import-return", str(good), "--as", setup["user"].email])
    assert done.exit_code == 0, done.output
    assert "as version 1" in done.output
    version = db.session.scalar(select(ReturnVersion))
    assert version.signed_off_by == "Amy Turner" and version.submitted_by_id == setup["user"].id
    stranger = runner.invoke(args=["pam", "import-return", str(good), "--as", "nobody@example.org"])
    assert stranger.exit_code != 0 and "No active user" in stranger.output


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def save_with_libreoffice(content: bytes, folder) -> bytes:
    """Open and save a workbook with LibreOffice Calc, as a provider using Calc would."""
    source = folder / "filled.xlsx"
    source.write_bytes(content)
    subprocess.run(
        [SOFFICE, "--headless", "--calc", "--convert-to", "xlsx:Calc Office Open XML",
         "--outdir", str(folder / "calc"), str(source)],
        check=True, timeout=180, capture_output=True,
        env={**os.environ, "HOME": str(folder)},  # its own profile: no lock with others
    )  # fmt: skip
    return (folder / "calc" / "filled.xlsx").read_bytes()


@pytest.mark.skipif(not SOFFICE, reason="LibreOffice is not installed")
def test_a_template_saved_by_libreoffice_calc_imports(setup, tmp_path):
    filled = fill(template(setup), answers_for(setup, **{"K:RJ01": 27, "K:RJ08": 91.5}))
    calc_saved = save_with_libreoffice(filled, tmp_path)
    assert calc_saved != filled
    response = upload(setup, calc_saved, name="Q2 return (Calc).xlsx")
    assert response.status_code == 302, response.text
    version = db.session.scalar(select(ReturnVersion))
    assert version.figure("K:RJ01") == 27 and version.figure("K:RJ08") == Decimal("91.5")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"S:spend": 1e30}, "Spend on the service this period: '1000"),
        ({"K:RJ01": "1e30"}, "'1e30' is too large"),
        ({"K:RJ08": "NaN"}, "'NaN' is not a number"),
    ],
)
def test_absurd_numbers_get_a_message_not_an_error(setup, changes, message):
    response = upload(setup, fill(template(setup), answers_for(setup, **changes)))
    assert response.status_code == 200 and message in response.text
    assert versions() == 0


def test_a_draft_never_becomes_a_live_formula_or_breaks_the_template(setup):
    setup["provider"].post(
        f"{setup['base']}/form",
        data={"K:RJ01": "NaN", "N:achievements": '=HYPERLINK("http://evil.example")',
              "save_draft": "y"},
    )  # fmt: skip
    book = load_workbook(io.BytesIO(template(setup)))
    rows = {row[0].value: row for row in book["Return"].iter_rows() if row[0].value}
    assert rows["N:achievements"][5].data_type == "s"  # text, not a formula
    assert rows["N:achievements"][5].value.startswith("=HYPERLINK")
    assert rows["K:RJ01"][5].value == "NaN"


def test_tampered_metadata_and_unreadable_csv_are_refused_plainly(setup):
    def garble(book):
        for row in book["_pam"].iter_rows():
            if row[0].value in ("contract_id", "signature"):
                row[1].value = "abc ü"

    body = upload(setup, fill(template(setup), answers_for(setup), garble)).text
    assert "hidden details in this file have been changed" in body
    huge = b'contract,RJ-1\r\nperiod,2025/26-Q2\r\nN:achievements,"' + b"x" * 200_000 + b'"\r\n'
    assert "could not be read as CSV" in upload(setup, huge, name="big.csv").text
    assert versions() == 0


def test_a_layout_for_another_period_is_refused_and_stores_nothing(setup):
    provider_return = services.return_for(setup["user"], setup["contract"], PERIOD)
    other = services.layout_for(setup["contract"], Period.parse("2025/26-Q1"))
    entries = Entries(raw=answers_for(setup))
    with pytest.raises(ValueError, match="another contract or period"):
        services.submit_return(setup["user"], provider_return, entries, signed_off_by="Amy",
                               source=ReturnSource.WEB, layout=other)  # fmt: skip
    assert db.session.scalar(select(func.count(ReturnVersion.id))) == 0
    mine = services.layout_for(setup["contract"], PERIOD)
    version = services.submit_return(setup["user"], provider_return, entries, signed_off_by="Amy",
                                     source=ReturnSource.WEB, layout=mine)  # fmt: skip
    assert version.number == 1 and version.figures
