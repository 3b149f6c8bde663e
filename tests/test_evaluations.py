"""Evaluation reports: written with checks (and kept when refused), figures for a contract
over its period, a pilot's panels with suppression, the printable page and the .xlsx."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from sqlalchemy import select

from pam.auth.models import Role
from pam.dashboards.charts import SUPPRESSED
from pam.evaluations import content, services
from pam.evaluations.models import EvaluationReport
from pam.extensions import db
from pam.programmes import services as programme_services
from tests.conftest import FACTORY, report


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
