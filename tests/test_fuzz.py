"""Property-based tests (hypothesis): random and malformed workbooks, CSVs and form data
thrown at the upload and form handlers. Whatever arrives, the answer is never a 500 and
nothing is half-written: either a whole new version of the return exists, or nothing
changed at all.

The examples run against one contract set up per test (hypothesis re-runs the body many
times within it), so each example checks the database against the state before it.
"""

from __future__ import annotations

import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.xml import DEFUSEDXML
from sqlalchemy import func, select

from pam.audit.models import AuditEvent
from pam.extensions import db
from pam.returns.models import ReturnVersion
from tests.test_returns import answers_for, fill, template, upload
from tests.test_returns import setup as setup

FUZZ = settings(
    max_examples=25,
    deadline=None,  # a request is not a microbenchmark
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI stays deterministic
)

cell_values = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    # No control characters: no spreadsheet can hold one (openpyxl refuses to write it).
    st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=60),
    st.sampled_from(["=1+1", '=HYPERLINK("http://x")', "@SUM(A1)", "12 ", "1e400", "½", ""]),
)


def snapshot() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(ReturnVersion.id))),
        db.session.scalar(select(func.count(AuditEvent.id))),
    )


def assert_whole_or_nothing(before: tuple[int, int], response) -> None:
    assert response.status_code < 500, response.text[:500]
    versions, events = snapshot()
    if versions == before[0]:
        assert response.status_code in (200, 400, 413), response.status_code
    else:
        assert versions == before[0] + 1 and events > before[1]


def test_openpyxl_reads_workbooks_with_the_defused_xml_parser():
    assert DEFUSEDXML  # openpyxl switches to defusedxml when it is installed


def test_a_workbook_with_an_xml_entity_bomb_is_refused_plainly(setup):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row><c t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>'
        b"</worksheet>"
    )
    source = zipfile.ZipFile(io.BytesIO(template(setup)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            data = source.read(item)
            bomb.writestr(item, laughs if item.filename == "xl/worksheets/sheet1.xml" else data)
    before = snapshot()
    response = upload(setup, out.getvalue())
    assert response.status_code == 200
    assert "damaged and cannot be opened" in response.text
    assert snapshot()[0] == before[0]


@FUZZ
@given(content=st.binary(max_size=4096), name=st.sampled_from(["r.xlsx", "r.csv", "r.xls", "r"]))
def test_random_bytes_never_break_the_upload(setup, content, name):
    before = snapshot()
    assert_whole_or_nothing(before, upload(setup, content, name=name))


@FUZZ
@given(values=st.dictionaries(st.sampled_from(["RJ01", "RJ08", "RJ10"]), cell_values))
def test_templates_filled_with_anything_are_stored_whole_or_refused(setup, values):
    base = template(setup)
    keys = [
        row[0].value
        for row in load_workbook(io.BytesIO(base))["Return"].iter_rows(min_row=1)
        if row[0].value
    ]
    answers = answers_for(setup)
    for code, value in values.items():
        assert f"K:{code}" in keys  # the measure's total line: what a provider would change
        answers[f"K:{code}"] = value
    before = snapshot()
    assert_whole_or_nothing(before, upload(setup, fill(base, answers)))


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20),
                 max_size=6),
        max_size=12,
    ),
    separator=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
)  # fmt: skip
def test_csvs_of_any_shape_are_stored_whole_or_refused(setup, rows, separator, encoding):
    text = "\n".join(separator.join(row) for row in [["contract", "measure", "value"], *rows])
    content = text.encode(encoding, errors="replace")
    before = snapshot()
    assert_whole_or_nothing(before, upload(setup, content, name="return.csv"))


form_text = st.text(max_size=300) | st.sampled_from(["\x00", "' OR 1=1 --", "<script>", "²"])


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "title",
                "reference",
                "annual_value",
                "total_value",
                "start_date",
                "end_date",
                "status",
                "provider_id",
                "service_category_id",
                "areas",
                "version",
            ]
        ),
        form_text,
    )
)
def test_the_contract_form_answers_any_input_without_a_500(client_as, data):
    client = client_as("officer")
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    response = client.post("/contracts/new", data=data)
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code != 302:
        assert db.session.scalar(select(func.count(AuditEvent.id))) == before


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["email", "password", "code", "next"]), form_text))
def test_the_sign_in_form_answers_any_input_without_a_500(client, data):
    response = client.post("/sign-in", data=data)
    assert response.status_code in (200, 302, 400)


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["code", "next"]), form_text))
def test_the_code_step_of_a_sign_in_answers_any_input_without_a_500(client, make_user, data):
    """Half-way through signing in (password given, code awaited): the code form is
    reached, not a redirect away from it."""
    from tests.conftest import TEST_PASSWORD
    from tests.test_two_factor import enrol

    user = make_user()
    enrol(user)
    first = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert first.headers["Location"].endswith("/sign-in/two-factor")
    response = client.post("/sign-in/two-factor", data=data)
    assert response.status_code in (200, 302, 400)
    client.post("/sign-out")
