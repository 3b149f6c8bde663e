"""RAG from accepted returns, year to date, early warnings, ratings and escalations."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from pam.auth.models import Role
from pam.core.periods import FinancialYear, Period
from pam.extensions import db
from pam.outcomes import services as outcome_services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import ContractRating, Escalation, Metric
from pam.outcomes.performance import contract_performance, propose_rating
from pam.outcomes.rag import Rag
from pam.returns import services as returns_services
from pam.returns.imports import Entries
from pam.returns.models import ReturnSource
from tests.conftest import FACTORY, valid_answers

YEAR = FinancialYear(2025)


@pytest.fixture
def contract(app, make_contract):
    seed_dictionary(FACTORY)
    contract = make_contract(reference="PERF-1")
    framework = outcome_services.framework_for(FACTORY, contract)
    for code, target in (("RJ01", "30"), ("RJ08", "80")):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(
            FACTORY, framework, metric, Decimal(target), Period.parse("2025/26-Q1")
        )
    db.session.commit()
    return contract


def report(contract, period: str, accept=True, **figures):
    period = Period.parse(period)
    provider_return = returns_services.return_for(FACTORY, contract, period)
    layout = returns_services.layout_for(contract, period)
    answers = {**valid_answers(layout), **{f"K:{k}": v for k, v in figures.items()}}
    explanations = {f"K:{k}": "explained" for k in figures}
    returns_services.submit_return(
        FACTORY, provider_return, Entries(raw=answers, explanations=explanations),
        signed_off_by="Signer", source=ReturnSource.WEB,
    )  # fmt: skip
    if accept:
        returns_services.review_return(FACTORY, provider_return, "accepted", "")
    db.session.commit()


def test_rag_per_period_and_year_to_date(contract):
    report(contract, "2025/26-Q1", RJ01="30", RJ08="85")  # green, green
    report(contract, "2025/26-Q2", RJ01="28", RJ08="70")  # amber (>=27), red (<72)
    report(contract, "2025/26-Q3", RJ01="50", RJ08="90", accept=False)  # not yet a fact
    performance = contract_performance(contract, YEAR)
    referrals, satisfaction = performance.rows
    assert [c.rag for c in referrals.cells] == [Rag.GREEN, Rag.AMBER, None, None]
    assert [c.rag for c in satisfaction.cells] == [Rag.GREEN, Rag.RED, None, None]
    assert referrals.ytd_actual == Decimal("58") and referrals.ytd_target == Decimal("60")
    assert referrals.ytd_rag == Rag.AMBER
    assert satisfaction.ytd_actual == Decimal("77.50") and satisfaction.ytd_rag == Rag.AMBER


def test_each_period_is_judged_against_the_target_then_in_force(contract):
    measure = contract.framework.measures[0]
    outcome_services.set_target(
        FACTORY, measure, Period.parse("2025/26-Q2"), Decimal("40"), reason="More referrals"
    )
    db.session.commit()
    report(contract, "2025/26-Q1", RJ01="30")
    report(contract, "2025/26-Q2", RJ01="30")
    cells = contract_performance(contract, YEAR).rows[0].cells
    assert (cells[0].target, cells[0].rag) == (Decimal("30"), Rag.GREEN)
    assert (cells[1].target, cells[1].rag) == (Decimal("40"), Rag.RED)


def test_amber_two_periods_running_is_an_early_warning(contract, client_as):
    report(contract, "2025/26-Q1", RJ01="28")
    report(contract, "2025/26-Q2", RJ01="27")
    performance = contract_performance(contract, YEAR)
    assert [row.measure.metric.code for row in performance.warnings] == ["RJ01"]
    page = client_as(Role.OFFICER).get(f"/contracts/{contract.id}?year=2025-26").text
    assert "has been Amber two periods running" in page
    assert 'data-chart="trend-chart"' in page and "plotly.min.js" in page


@pytest.mark.parametrize(
    ("counts", "rating"),
    [
        ({}, "Other"),
        ({Rag.GREEN: 9, Rag.AMBER: 1}, "Good"),
        ({Rag.GREEN: 7, Rag.AMBER: 3}, "Approaching target"),
        ({Rag.GREEN: 5, Rag.AMBER: 4, Rag.RED: 1}, "Requires improvement"),
        ({Rag.GREEN: 8, Rag.RED: 2}, "Requires improvement"),
        ({Rag.GREEN: 6, Rag.RED: 4}, "Inadequate"),
    ],
)
def test_the_proposed_rating_follows_the_rag_history(counts, rating):
    assert propose_rating(Counter(counts)) == rating


def test_officer_confirms_or_overrides_the_rating_with_a_reason(contract, client_as):
    report(contract, "2025/26-Q1", RJ01="30", RJ08="85")
    officer = client_as(Role.OFFICER)
    url = f"/contracts/{contract.id}/ratings/2025-26"
    assert 'value="Good" checked' in officer.get(url).text
    refused = officer.post(url, data={"rating": "Requires improvement", "reason": ""})
    assert "Say why the rating differs from the proposed &#39;Good&#39;" in refused.text
    officer.post(url, data={"rating": "Requires improvement", "reason": "Late returns all year"})
    rating = db.session.scalar(select(ContractRating))
    assert (rating.proposed, rating.rating) == ("Good", "Requires improvement")
    assert "Late returns all year" in officer.get(f"/contracts/{contract.id}").text
    assert officer.get(f"/contracts/{contract.id}/ratings/2031-32").status_code == 404


def test_escalation_plan_opens_tracks_actions_and_closes(contract, client_as, login_as, make_user):
    officer = client_as(Role.OFFICER)
    base = f"/contracts/{contract.id}/escalations"
    assert "Say why" in officer.post(f"{base}/new", data={"reason": ""}).text
    officer.post(f"{base}/new", data={"reason": "Satisfaction Red for two quarters"})
    again = officer.post(f"{base}/new", data={"reason": "Another"})
    assert "already has an open escalation" in again.text
    escalation = db.session.scalar(select(Escalation))
    officer.post(
        f"{base}/{escalation.id}/actions/new",
        data={"description": "Review exit survey", "owner": "Amy", "due_on": ["1", "2", "2026"]},
    )
    action = escalation.actions[0]
    officer.post(f"{base}/{escalation.id}/actions/{action.id}", data={"status": "done"})
    officer.post(f"{base}/{escalation.id}/close", data={"closing_note": "Back to Green"})
    db.session.expire_all()
    escalation = db.session.get(Escalation, escalation.id)
    assert escalation.status.value == "closed" and escalation.actions[0].status.value == "done"
    provider = login_as(make_user(role=Role.PROVIDER, organisation=contract.provider))
    page = provider.get(f"/contracts/{contract.id}").text
    assert "Back to Green" in page and "Open an escalation" not in page
    assert provider.get(f"{base}/new").status_code == 404


def test_a_removed_measure_keeps_its_history_in_past_years(contract):
    report(contract, "2025/26-Q1", RJ01="30", RJ08="85")
    referrals = contract.framework.measures[0]
    outcome_services.remove_measure(FACTORY, referrals)
    db.session.commit()
    rows = contract_performance(contract, YEAR).rows
    assert [row.measure.metric.code for row in rows] == ["RJ01", "RJ08"]
    assert contract_performance(contract, FinancialYear(2026)).rows[0].measure.metric.code == "RJ08"
