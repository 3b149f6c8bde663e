"""Evaluation reports: written with checks (and kept when refused), figures for a contract
over its period, a pilot's panels with suppression, the printable page and the .xlsx."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from pam.auth.models import Role
from pam.core.periods import Period
from pam.dashboards.charts import SUPPRESSED
from pam.evaluations import content, services
from pam.evaluations.models import EvaluationReport
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric
from pam.programmes import services as programme_services
from tests.conftest import FACTORY, report, submit_answers


def _form(subject: str, **changes) -> dict:
    fields = {
        "subject": subject, "title": "Year one", "stage": "interim",
        "period_start": ["1", "4", "2025"], "period_end": ["31", "3", "2026"],
        "summary": "", "recommendations": "=Keep going",
    }  # fmt: skip
    return {**fields, **changes}


def test_an_officer_writes_a_contract_report_and_sees_its_figures(dataset, client_as):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["north"], "2025/26-Q2", RJ01="16", VS02="3")
    report(dataset["north"], "2026/27-Q1", RJ01="99", VS02="99")  # outside the period
    client = client_as(Role.OFFICER)
    response = client.post("/evaluations/new", data=_form(f"contract:{dataset['north'].id}"))
    assert response.status_code == 302
    saved = db.session.scalar(select(EvaluationReport))
    built = content.build(saved, threshold=4)
    targets = {row[0].split()[0]: row for row in built.charts[0].table.rows}
    assert targets["RJ01"][1:4] == [40, 40, "Green"]  # 24 + 16 against 20 + 20
    assert targets["VS02"][1:3] == [13, 20] and targets["VS02"][3] == "Red"
    assert [h[0] for h in built.highlights] == ["2025/26-Q1", "2025/26-Q1", "2025/26-Q2",
                                                "2025/26-Q2"]  # fmt: skip
    page = client.get(f"/evaluations/{saved.id}")
    assert page.status_code == 200 and b"Performance against targets" in page.data
    sheet = client.get(f"/evaluations/{saved.id}/report.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.data))
    cell = workbook["Report"]["B8"]
    assert (cell.value, cell.data_type) == ("=Keep going", "s")  # text, never a formula


def test_bad_input_is_refused_and_what_was_typed_is_kept(dataset, client_as):
    client = client_as(Role.OFFICER)
    subject = f"contract:{dataset['north'].id}"
    backwards = client.post("/evaluations/new", data=_form(
        subject, period_end=["31", "3", "2024"], recommendations="Keep this text"))  # fmt: skip
    assert backwards.status_code == 200
    assert b"The period must end after it starts" in backwards.data
    assert b"Keep this text" in backwards.data
    nothing = client.post("/evaluations/new", data=_form("contract:99999"))
    assert b"Choose the contract or pilot the report evaluates" in nothing.data
    for nonsense in ("contract:\u00b2", "contract:" + "9" * 30, "pilot:-1", "contract:"):
        refused = client.post("/evaluations/new", data=_form(nonsense))
        assert refused.status_code == 200, nonsense
        assert b"Choose the contract or pilot the report evaluates" in refused.data
    assert db.session.scalar(select(EvaluationReport)) is None


def test_a_stale_edit_is_refused_and_kept(dataset, client_as):
    saved = services.create_report(FACTORY, {
        "subject": f"contract:{dataset['north'].id}", "title": "First", "stage": "interim",
        "period_start": date(2025, 4, 1), "period_end": date(2026, 3, 31)})  # fmt: skip
    db.session.commit()
    client = client_as(Role.OFFICER)
    form = _form(f"contract:{dataset['north'].id}", title="Mine", version=str(saved.version))
    services.update_report(FACTORY, saved, {**form, "period_start": date(2025, 4, 1),  # theirs
                                            "period_end": date(2026, 3, 31),
                                            "title": "Theirs"}, saved.version)  # fmt: skip
    db.session.commit()
    stale = client.post(f"/evaluations/{saved.id}/edit", data=form)
    assert b"Someone else changed this evaluation report" in stale.data
    assert b'value="Mine"' in stale.data
    db.session.expire_all()
    assert db.session.get(EvaluationReport, saved.id).title == "Theirs"


def test_a_pilot_report_suppresses_small_counts(app, make_area):
    pilot = programme_services.add_pilot(FACTORY, "NJP", "", date(2025, 4, 1))
    big = programme_services.add_site(FACTORY, pilot, make_area().id, "Town")
    small = programme_services.add_site(FACTORY, pilot, make_area().id, "Village")
    for site, cases in ((big, 12), (small, 2)):
        session = programme_services.add_session(FACTORY, site, date(2025, 6, 1), 3)
        for number in range(cases):
            programme_services.add_case(FACTORY, session, {
                "reference": f"{site.name[0]}-{number}", "referral_source": "Police",
                "offence_category": "Criminal damage and arson",
                "outcome_agreed": "Reparation to the victim",
                "victim_satisfaction": "5"})  # fmt: skip
    saved = services.create_report(FACTORY, {"subject": f"pilot:{pilot.id}", "title": "NJP",
                                             "period_start": date(2025, 4, 1),
                                             "period_end": date(2026, 3, 31)})  # fmt: skip
    db.session.commit()
    sites = content.build(saved, threshold=4).charts[0].table.rows
    by_site = {row[0]: row for row in sites}
    assert by_site["Village"][2] is SUPPRESSED  # 2 cases
    assert by_site["Town"][2] is SUPPRESSED  # else 14 - 12 would give the village away
    assert content.build(saved, threshold=0).charts[0].table.rows[0][2] == 12


def test_a_small_count_is_not_given_away_by_its_percentage_of_target(dataset):
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="10")
    report(dataset["north"], "2025/26-Q2", RJ01="24", VS02="3")
    saved = services.create_report(FACTORY, {
        "subject": f"contract:{dataset['north'].id}", "title": "T", "stage": "final",
        "period_start": date(2025, 4, 1), "period_end": date(2026, 3, 31)})  # fmt: skip
    db.session.commit()
    trend = {row[0]: row[1:] for row in content.build(saved, threshold=4).charts[1].table.rows}
    assert trend["VS02"] == [SUPPRESSED, SUPPRESSED]  # 3 of 10 would be 30%; 10 goes too
    assert trend["RJ01"] == [120, 120]


def _report_on(contract, start=date(2025, 4, 1), end=date(2026, 3, 31)) -> EvaluationReport:
    saved = services.create_report(FACTORY, {
        "subject": f"contract:{contract.id}", "title": "T", "stage": "final",
        "period_start": start, "period_end": end})  # fmt: skip
    db.session.commit()
    return saved


def _add(contract, code: str, target: str, tolerance: str | None = None) -> None:
    framework = outcome_services.framework_for(FACTORY, contract)
    metric = db.session.scalar(select(Metric).where(Metric.code == code))
    outcome_services.add_measure(FACTORY, framework, metric, Decimal(target),
                                 Period.parse("2025/26-Q1"),
                                 Decimal(tolerance) if tolerance else None)  # fmt: skip
    db.session.commit()


def test_the_period_is_rated_with_the_measures_tolerance_and_aggregation(app, make_contract):
    seed_dictionary(FACTORY)
    contract = make_contract(reference="EVAL-1")
    _add(contract, "RJ01", "20", tolerance="5")  # 37 of 40 is 92.5%: Red at 5%, not Amber
    _add(contract, "RJ11", "10")  # volunteers active: the latest count, never a sum
    report(contract, "2025/26-Q1", RJ01="24", RJ11="10")
    report(contract, "2025/26-Q2", RJ01="13", RJ11="12")
    rows = {row[0].split()[0]: row[1:4] for row in
            content.build(_report_on(contract), threshold=0).charts[0].table.rows}  # fmt: skip
    assert rows["RJ01"] == [Decimal("37.0"), Decimal("40.0"), "Red"]
    assert rows["RJ11"] == [Decimal("12.0"), Decimal("10.0"), "Green"]


def test_a_report_reads_the_dashboards_suppression_pattern(dataset):
    # The north's year (3 + 12) is hidden on the board's pages: the report hides it too,
    # and its equality figures are those the outcomes page would show for the contract.
    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["north"], "2025/26-Q2", RJ01="24", VS02="12")
    report(dataset["south"], "2025/26-Q2", RJ01="24", VS02="9")
    built = content.build(_report_on(dataset["north"]), threshold=4)
    targets = {row[0].split()[0]: row for row in built.charts[0].table.rows}
    assert targets["VS02"][1] is SUPPRESSED and targets["RJ01"][1] == Decimal("48.0")
    trend = {row[0]: row[1:] for row in built.charts[1].table.rows}
    assert trend["VS02"] == [SUPPRESSED, SUPPRESSED]


def test_a_part_year_total_is_shown_only_when_the_shown_figures_give_it(dataset):
    # Q1 11, Q2 3, Q3 10: the year's pattern hides Q2 and Q3 and shows Q1 and the year.
    # April to September (14) less Q1 (11) would be 3: the report hides it.
    for quarter, count in (("Q1", "11"), ("Q2", "3"), ("Q3", "10")):
        report(dataset["north"], f"2025/26-{quarter}", RJ01="24", VS02=count)
    half = content.build(_report_on(dataset["north"], end=date(2025, 9, 30)), threshold=4)
    targets = {row[0].split()[0]: row for row in half.charts[0].table.rows}
    assert targets["VS02"][1] is SUPPRESSED and targets["RJ01"][1] == Decimal("48.0")
    whole = content.build(_report_on(dataset["north"]), threshold=4)
    assert {row[0].split()[0]: row[1] for row in whole.charts[0].table.rows}["VS02"] == 24


def test_a_reports_equality_and_rates_are_suppressed(dataset):
    framework = dataset["north"].framework
    for code in ("RJ04", "RJ05", "RJ09"):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(FACTORY, framework, metric, Decimal("10"),
                                     Period.parse("2025/26-Q1"))  # fmt: skip
    db.session.commit()
    submit_answers(dataset["north"], "2025/26-Q1", {
        "K:RJ01": "24", "K:RJ01:referral_source:police": "24", "K:RJ04": "1", "K:RJ05": "1",
        "K:RJ09": "50", "E:sex:female": "7", "E:sex:male": "3"})  # fmt: skip
    built = content.build(_report_on(dataset["north"]), threshold=4)
    targets = {row[0].split()[0]: row for row in built.charts[0].table.rows}
    assert targets["RJ09"][1] is SUPPRESSED  # 50% of 1 + 1 victims
    assert {row[0]: row[1:] for row in built.charts[1].table.rows}["RJ09"] == [SUPPRESSED]
    sex = [row[1:] for row in built.charts[2].table.rows if row[0] == "Sex"]
    assert sex == [["Female", SUPPRESSED], ["Male", SUPPRESSED], ["Not known", 0], ["All", 10]]
    officer = content.build(_report_on(dataset["north"]), threshold=0).charts[2].table.rows
    assert [row[2] for row in officer if row[0] == "Sex"] == [7, 3, 0, 10]


def test_a_pilot_rate_on_a_small_number_is_suppressed(app, make_area):
    # Town heard 12 cases but knows the outcome of only 2 (1 completed) and has 1 victim's
    # score: 50% and the score would each give one person away. Village: all known.
    pilot = programme_services.add_pilot(FACTORY, "NJP", "", date(2025, 4, 1))
    for name, cases in (("Town", 12), ("Village", 6)):
        site = programme_services.add_site(FACTORY, pilot, make_area().id, name)
        session = programme_services.add_session(FACTORY, site, date(2025, 6, 1), 3)
        for number in range(cases):
            known = name == "Village" or number < 2
            programme_services.add_case(FACTORY, session, {
                "reference": f"{name[0]}-{number}", "referral_source": "Police",
                "offence_category": "Criminal damage and arson",
                "outcome_agreed": "Reparation to the victim",
                "outcome_completed": (number % 2 == 0) if known else None,
                "victim_satisfaction": "4" if known and (name == "Village" or number == 0)
                else None})  # fmt: skip
    saved = services.create_report(FACTORY, {"subject": f"pilot:{pilot.id}", "title": "NJP",
                                             "period_start": date(2025, 4, 1),
                                             "period_end": date(2026, 3, 31)})  # fmt: skip
    db.session.commit()
    sites = {row[0]: row[1:] for row in content.build(saved, threshold=4).charts[0].table.rows}
    assert sites["Town"] == [1, 12, SUPPRESSED, SUPPRESSED]
    assert sites["Village"] == [1, 6, SUPPRESSED, 4.0]  # 3 of 6 completed: 3 is small
    officer = {row[0]: row[1:] for row in content.build(saved, threshold=0).charts[0].table.rows}
    assert officer["Town"] == [1, 12, 50, 4.0]
