"""`flask pam import-returns`: historic returns in bulk, from a folder of filled templates
or one long-format CSV, through the upload's own checks; a bad return imports nothing and
is reported with its reasons, the good ones are imported (and accepted, if asked)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from pam.audit import services as audit
from pam.auth.models import Role
from pam.core.periods import Period
from pam.dashboards.models import StoredPattern
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.models import Metric
from pam.returns import services
from pam.returns.bulk import Candidate, import_returns
from pam.returns.models import ProviderReturn, ReturnFact, ReturnStatus, ReturnVersion
from tests.conftest import FACTORY, valid_answers
from tests.test_returns import answers_for, fill, setup, template  # noqa: F401 - a fixture

Q1, Q2, Q3 = (Period.parse(f"2025/26-Q{n}") for n in (1, 2, 3))


@pytest.fixture
def world(setup):  # noqa: F811 - test_returns' contract, provider user and officer
    return setup


def returns_by_period() -> dict[str, ProviderReturn]:
    return {r.period: r for r in db.session.scalars(select(ProviderReturn))}


def test_a_folder_imports_its_good_returns_and_reports_every_bad_one(
    world,
    runner,
    tmp_path,
    make_user,
):
    folder = tmp_path / "historic"
    folder.mkdir()
    (folder / "q1.xlsx").write_bytes(fill(template(world, Q1.slug), answers_for(world)))
    (folder / "q2.xlsx").write_bytes(fill(template(world, Q2.slug), answers_for(world)))
    bad = answers_for(world, **{"K:RJ01": "twelve", "K:RJ08": 101})
    (folder / "q3.xlsx").write_bytes(fill(template(world, Q3.slug), bad))
    (folder / "notes.xlsx").write_bytes(b"not a workbook at all")
    (folder / "readme.txt").write_text("ignored: not a return file")
    officer = make_user(role=Role.OFFICER, email="reviewer@opcc.example.org")

    result = runner.invoke(
        args=["pam", "import-returns", str(folder), "--as", world["user"].email,
              "--accept-as", officer.email]
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Imported and accepted 2 of 4 returns; 2 not imported." in result.output
    assert "Not imported: q3.xlsx" in result.output
    assert "'twelve' is not a number (sheet Return, cell F" in result.output
    assert "'101' is more than 100%" in result.output
    assert "Not imported: notes.xlsx" in result.output
    assert "notes.xlsx is not really an .xlsx workbook" in result.output

    found = returns_by_period()
    assert set(found) == {Q1.label, Q2.label}  # nothing of q3 at all: not even a draft
    assert all(r.status is ReturnStatus.ACCEPTED for r in found.values())
    assert db.session.scalar(select(func.count(ReturnFact.id))) > 0  # on the dashboards
    assert audit.verify_chain().ok
    # The board's patterns for the year were worked out and kept, ahead of its first view.
    assert "Suppression patterns for 2025/26 worked out: " in result.output
    kept = db.session.scalars(select(StoredPattern.year).distinct()).all()
    assert kept == ["2025/26"]

    again = runner.invoke(
        args=["pam", "import-returns", str(folder / "q1.xlsx"), "--as", world["user"].email]
    )
    assert again.exit_code != 0  # a file path is read as a long-format CSV: refused


def test_a_long_csv_imports_each_return_on_its_own(world, runner, tmp_path):
    layout = services.layout_for(world["contract"], Q1)
    good = valid_answers(layout)
    lines = ["contract,period,key,value,explanation"]
    lines += [f"RJ-1,{Q1.label},{key},{value}," for key, value in good.items()]
    lines += [f"rj-1,{Q2.label},{key},{value}," for key, value in good.items()]
    lines.append(f"RJ-1,{Q2.label},K:NOPE,3,")  # an item the return does not have
    lines += [f"RJ-9,{Q1.label},K:RJ01,3,"]  # no such contract
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = runner.invoke(args=["pam", "import-returns", str(path), "--as", world["user"].email])
    assert result.exit_code == 1, result.output
    assert "Imported 1 of 3 returns; 2 not imported." in result.output
    assert f"Not imported: history.csv: RJ-1 {Q2.label.upper()}" in result.output
    assert "K:NOPE is not an item of this return" in result.output
    assert "No contract has the reference RJ-9" in result.output
    found = returns_by_period()
    assert set(found) == {Q1.label} and found[Q1.label].status is ReturnStatus.SUBMITTED
    assert db.session.scalar(select(func.count(ReturnVersion.id))) == 1
    assert "Suppression patterns" not in result.output  # none accepted: nothing changed


def test_bad_columns_another_providers_user_and_a_non_officer_are_refused(
    world,
    runner,
    tmp_path,
    make_user,
    make_organisation,
):
    path = tmp_path / "history.csv"
    path.write_text("contract,quarter,key,value\nRJ-1,2025/26-Q1,K:RJ01,3\n")
    columns = runner.invoke(args=["pam", "import-returns", str(path), "--as", world["user"].email])
    assert columns.exit_code == 1 and "missing: period" in columns.output

    stranger = make_user(role=Role.PROVIDER, organisation=make_organisation("Elsewhere"))
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "q1.xlsx").write_bytes(fill(template(world, Q1.slug), answers_for(world)))
    other = runner.invoke(args=["pam", "import-returns", str(folder), "--as", stranger.email])
    assert other.exit_code == 1 and "cannot submit returns for RJ-1" in other.output

    accepting = runner.invoke(
        args=["pam", "import-returns", str(folder), "--as", world["user"].email,
              "--accept-as", stranger.email]
    )  # fmt: skip
    assert accepting.exit_code != 0 and "cannot accept returns" in accepting.output
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(args=["pam", "import-returns", str(empty), "--as", world["user"].email])
    assert nothing.exit_code != 0 and "No return files" in nothing.output
    assert db.session.scalar(select(func.count(ProviderReturn.id))) == 0


def _reads_importing(world, period: Period, officer) -> int:
    """The SELECT statements one return's import sends, from reading it to its commit.
    (How many rows an INSERT sends at once is the driver's business: PostgreSQL sends a
    version's figures in one, SQLite one at a time, which costs it nothing.)"""
    content = fill(template(world, period.slug), answers_for(world))
    sent = []
    listen = lambda *args: sent.append(args[2].lstrip().startswith("SELECT"))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        candidates = [Candidate(f"{period.slug}.xlsx", "RJ-1", period.label, content=content)]
        outcomes = list(import_returns(candidates, world["user"], signed_off_by="Amy Turner",
                                       accepted_by=officer, today=date(2026, 4, 30)))  # fmt: skip
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert outcomes[0].imported, outcomes[0].reasons
    return sum(sent)


def test_a_returns_import_reads_as_much_however_many_measures_it_has(world, make_user):
    """A national return has about twenty measures: reading each one's metric, versions
    and targets on its own would cost three statements a measure."""
    officer = make_user(role=Role.OFFICER, email="reviewer@opcc.example.org")
    _reads_importing(world, Q1, officer)  # Q2 and Q3 each have a period before them
    three_measures = _reads_importing(world, Q2, officer)
    framework = world["contract"].framework
    for code in ("RJ02", "RJ03", "RJ04", "RJ05", "RJ06"):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(FACTORY, framework, metric, Decimal(10), Q3)
    db.session.commit()
    db.session.expire_all()  # as a new request would find it
    eight_measures = _reads_importing(world, Q3, officer)
    assert eight_measures == three_measures
    totals = [item for item in services.layout_for(world["contract"], Q3).items
              if item.section == "measures" and not item.total_key]  # fmt: skip
    assert len(totals) == 8
