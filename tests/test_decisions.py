"""Funding decisions: drafting, separation of duties, budgets, closed years, and the
contract an approved award creates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pam.auth.models import Role
from pam.contracts.models import Contract
from pam.core.exceptions import BusinessRuleError
from pam.decisions import services
from pam.decisions.models import BudgetLine, DecisionStatus, FundingDecision
from pam.extensions import db
from tests.conftest import FACTORY

TODAY = date(2025, 6, 1)


@pytest.fixture
def lines(app):
    made = [
        services.save_budget_line(
            FACTORY, None,
            {"year": year, "code": "MOJ-VIC", "name": "Victims' grant",
             "funder": "Ministry of Justice", "allocation": Decimal("100000")},
        )
        for year in ("2025/26", "2026/27")
    ]  # fmt: skip
    db.session.commit()
    return made


def award_form(provider, service, area, lines, **overrides):
    data = {
        "title": "Restorative justice service for Dorset",
        "decision_type": "contract_award",
        "summary": "Award the RJ contract to the winning bidder",
        "rationale": "Highest-scoring bid in the tender",
        "options_considered": "Award; re-tender; extend the incumbent",
        "conflicts_declared": "None declared",
        "provider_id": str(provider.id),
        "line_1": str(lines[0].id),
        "amount_1": "60,000",
        "line_2": str(lines[1].id),
        "amount_2": "60000",
        "contract_reference": "opcc-rj-2025-09",
        "service_category_id": str(service.id),
        "area_ids": [str(area.id)],
        "start_on": ["1", "7", "2025"],
        "end_on": ["30", "6", "2027"],
        "annual_value": "60000",
        "max_extension_months": "12",
    }
    data.update(overrides)
    return data


@pytest.fixture
def parts(make_organisation, make_service, make_area):
    return make_organisation("Winning Charity"), make_service(), make_area()


@pytest.fixture
def people(client_as, make_user, login_as):
    officer = make_user(role=Role.OFFICER)
    cfo = make_user(role=Role.DECISION_MAKER)
    return {
        "officer": officer,
        "officer_client": login_as(officer),
        "cfo": cfo,
        "cfo_client": login_as(cfo),
    }


def draft(people, parts, lines, **overrides) -> FundingDecision:
    response = people["officer_client"].post(
        "/decisions/new", data=award_form(*parts, lines, **overrides)
    )
    assert response.status_code == 302, response.text
    return db.session.scalar(select(FundingDecision).order_by(FundingDecision.id.desc()))


def test_a_decision_is_drafted_submitted_and_approved_into_a_contract(people, parts, lines):
    decision = draft(people, parts, lines)
    assert decision.reference.startswith("OPCC/") and decision.total == Decimal("120000")
    assert decision.years == ["2025/26", "2026/27"]
    page = people["officer_client"].get(f"/decisions/{decision.id}").text
    assert "Submit for decision" in page and f"/decisions/{decision.id}/decide" not in page
    people["officer_client"].post(f"/decisions/{decision.id}/submit", data={"comment": "Ready"})
    cfo = people["cfo_client"]
    decide = f"/decisions/{decision.id}/decide"
    assert "Say why" in cfo.post(decide, data={"outcome": "rejected"}).text
    response = cfo.post(decide, data={"outcome": "approved", "comment": "Agreed"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    decision = db.session.get(FundingDecision, decision.id)
    assert decision.status == DecisionStatus.APPROVED and decision.decided_by_id == people["cfo"].id
    contract = db.session.scalar(select(Contract).where(Contract.reference == "OPCC-RJ-2025-09"))
    assert contract.provider_id == parts[0].id and contract.total_value == Decimal("120000")
    assert contract.funding_decision_id == decision.id and decision.contract_id == contract.id
    assert contract.start_on == date(2025, 7, 1) and contract.max_extension_months == 12
    twice = cfo.post(decide, data={"outcome": "approved"})
    assert "only a submitted decision can be decided" in twice.text
    assert db.session.scalar(select(func.count(Contract.id))) == 1
    position = services.budget_position(lines[0])
    assert (position.committed, position.remaining) == (Decimal("60000"), Decimal("40000"))


def test_whoever_drafted_or_submitted_cannot_approve(people, parts, lines, make_user, login_as):
    decision = draft(people, parts, lines)
    other_cfo = make_user(role=Role.DECISION_MAKER)
    services.submit_decision(other_cfo, decision)  # submitted by a decision maker
    db.session.commit()
    submitter = login_as(other_cfo)
    assert submitter.get(f"/decisions/{decision.id}/decide").status_code == 403
    assert (
        "another decision maker must decide it" in submitter.get(f"/decisions/{decision.id}").text
    )
    with pytest.raises(BusinessRuleError, match="someone else must decide it"):
        services.decide(other_cfo, decision, "approved", "", TODAY)
    assert people["officer_client"].get(f"/decisions/{decision.id}/decide").status_code == 403


def test_submitting_needs_a_complete_decision(people, parts, lines):
    decision = draft(people, parts, lines, rationale="", contract_reference="")
    response = people["officer_client"].post(
        f"/decisions/{decision.id}/submit", data={}, follow_redirects=True
    )
    assert "Before submitting, enter the rationale" in response.text
    assert db.session.get(FundingDecision, decision.id).status == DecisionStatus.DRAFT


def test_approving_beyond_the_budget_needs_an_override_reason(people, parts, lines):
    decision = draft(people, parts, lines, amount_1="150000", line_2="", amount_2="")
    people["officer_client"].post(f"/decisions/{decision.id}/submit")
    cfo = people["cfo_client"]
    refused = cfo.post(f"/decisions/{decision.id}/decide", data={"outcome": "approved"})
    assert "This would exceed the budget" in refused.text and "has £100,000.00 left" in refused.text
    ok = cfo.post(
        f"/decisions/{decision.id}/decide",
        data={"outcome": "approved", "override_reason": "Home Office top-up agreed in writing"},
    )
    assert ok.status_code == 302
    assert services.budget_position(lines[0]).remaining == Decimal("-50000")


def test_a_closed_year_takes_no_new_commitments(people, parts, lines):
    decision = draft(people, parts, lines)
    with pytest.raises(BusinessRuleError, match="open decision"):
        services.close_year(people["cfo"], "2025/26")
    db.session.rollback()
    services.submit_decision(people["officer"], decision)
    services.decide(people["cfo"], decision, "rejected", "Not needed after all", TODAY)
    db.session.commit()
    closed = people["cfo_client"].post("/budgets/years/2025-26/close", follow_redirects=True)
    assert "2025/26 is closed" in closed.text
    refused = people["officer_client"].post("/decisions/new", data=award_form(*parts, lines))
    assert "Not a valid choice" in refused.text  # closed years' lines are not offered
    with pytest.raises(BusinessRuleError, match="2025/26 is closed"):
        services.create_decision(
            people["officer"], {"title": "x", "decision_type": "grant"}, [(lines[0].id, 5)], TODAY
        )


def test_two_people_editing_one_decision(people, parts, lines):
    decision = draft(people, parts, lines)
    stale = award_form(*parts, lines, title="My better title", version="0")
    response = people["officer_client"].post(f"/decisions/{decision.id}/edit", data=stale)
    assert "Someone else changed this decision" in response.text
    assert 'value="My better title"' in response.text  # nothing typed is lost
    assert db.session.get(FundingDecision, decision.id).title != "My better title"


def test_deferred_decisions_go_back_for_changes(people, parts, lines):
    decision = draft(people, parts, lines)
    people["officer_client"].post(f"/decisions/{decision.id}/submit")
    people["cfo_client"].post(
        f"/decisions/{decision.id}/decide", data={"outcome": "deferred", "comment": "Add risks"}
    )
    db.session.expire_all()
    decision = db.session.get(FundingDecision, decision.id)
    assert decision.status == DecisionStatus.DEFERRED
    edited = people["officer_client"].post(
        f"/decisions/{decision.id}/edit",
        data=award_form(*parts, lines, risks="Provider capacity", version=str(decision.version)),
    )
    assert edited.status_code == 302, edited.text


def test_an_approved_extension_extends_the_contract(people, lines, make_contract):
    contract = make_contract(max_extension_months=12)
    decision = services.create_decision(
        people["officer"],
        {
            "title": "Extend",
            "decision_type": "extension",
            "rationale": "Good",
            "contract_id": contract.id,
            "options_considered": "Extend or re-tender",
            "terms": {"new_end_on": "2028-03-31"},
        },
        [(lines[1].id, Decimal("50000"))],
        TODAY,
    )
    services.submit_decision(people["officer"], decision)
    services.decide(people["cfo"], decision, "approved", "", TODAY)
    db.session.commit()
    db.session.refresh(contract)
    assert contract.end_on == date(2028, 3, 31) and contract.total_value == Decimal("150000")
    assert decision.reference in contract.variations[0].approved_by


def test_the_decision_log_filters_and_exports(people, parts, lines):
    draft(people, parts, lines, title="Alpha award")
    draft(people, parts, lines, title="Beta grant", decision_type="grant")
    client = people["cfo_client"]
    assert "Beta grant" not in client.get("/decisions?type=contract_award").text
    assert "Alpha award" in client.get("/decisions?q=alpha").text
    csv_text = client.get("/decisions/export.csv?type=grant").data.decode("utf-8-sig")
    assert csv_text.startswith("Reference,Title") and "Beta grant" in csv_text
    assert "Alpha award" not in csv_text


def test_budget_lines_are_validated(people, lines):
    client = people["officer_client"]
    clash = client.post(
        "/budgets/new",
        data={"year": "2025/26", "code": "moj-vic", "name": "x", "funder": "y", "allocation": "1"},
    )
    assert "2025/26 already has a budget line MOJ-VIC" in clash.text
    bad_money = client.post(
        "/budgets/new",
        data={"year": "2025/26", "code": "NEW", "name": "x", "funder": "y", "allocation": "lots"},
    )
    assert "Allocation must be an amount in pounds" in bad_money.text
    assert db.session.scalar(select(func.count(BudgetLine.id))) == 2
