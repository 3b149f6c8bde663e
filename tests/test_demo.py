"""The demo data: every kind of user can sign in, loading twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from pam.audit import services as audit
from pam.audit.models import AuditEvent
from pam.auth.models import Role, User
from pam.demo import DEMO_PASSWORD, DEMO_USERS
from pam.extensions import db


def event_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def test_demo_loads_once_and_every_role_can_sign_in(app, runner):
    first = runner.invoke(args=["pam", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output
    events = event_count()
    second = runner.invoke(args=["pam", "demo"])
    assert "nothing changed" in second.output
    assert event_count() == events
    assert audit.verify_chain().ok

    roles = set(db.session.scalars(select(User.role)))
    assert roles == set(Role)
    for spec in DEMO_USERS:
        client = app.test_client()
        response = client.post("/sign-in", data={"email": spec["email"], "password": DEMO_PASSWORD})
        assert response.status_code == 302, spec["email"]
        assert client.get("/home").status_code == 200


def test_demo_provider_users_belong_to_a_provider(demo):
    providers = db.session.scalars(select(User).where(User.role == Role.PROVIDER)).all()
    assert providers and all(user.organisation_id for user in providers)


def test_demo_refused_in_production(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "PAM_ENV", "production")
    result = runner.invoke(args=["pam", "demo"])
    assert result.exit_code == 2
    assert "Refused" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_demo_logins_lists_every_account(runner):
    output = runner.invoke(args=["pam", "demo-logins"]).output
    assert DEMO_PASSWORD in output
    assert all(spec["email"] in output for spec in DEMO_USERS)


def test_demo_portfolio_has_two_years_of_returns_with_believable_variation(demo):
    from pam.contracts.models import Contract
    from pam.core.periods import FinancialYear
    from pam.outcomes.performance import contract_performance
    from pam.returns.models import ProviderReturn, ReturnStatus

    contracts = db.session.scalars(select(Contract)).all()
    assert 18 <= len(contracts) <= 25
    returns = db.session.scalars(select(ProviderReturn)).all()
    by_key = {(r.contract.reference, r.period): r for r in returns}
    full_years = [f"{year}-Q{q}" for year in ("2024/25", "2025/26") for q in range(1, 5)]
    hub = [by_key[("OPCC-VS-2024-01", period)] for period in full_years]
    assert all(r.status == ReturnStatus.ACCEPTED for r in hub)
    assert ("OPCC-VS-2024-03", "2024/25-Q3") not in by_key  # the one never sent
    queried = by_key[("OPCC-RJ-2024-01", "2025/26-Q2")]
    assert len(queried.versions) == 2 and queried.status == ReturnStatus.ACCEPTED
    assert any(r.submitted_late for r in returns)
    statuses = {r.status for r in returns}
    assert {ReturnStatus.ACCEPTED, ReturnStatus.SUBMITTED} <= statuses
    struggling = next(c for c in contracts if c.reference == "OPCC-RJ-2024-02")
    rags = contract_performance(struggling, FinancialYear(2025)).rag_counts()
    assert rags.get("red", 0) > 0
    assert audit.verify_chain().ok


def test_demo_holds_a_completed_commissioning_cycle_and_a_tender_in_evaluation(demo, client):
    from pam.contracts.models import Contract
    from pam.market.models import PublishedAssessment, Tender, TenderStatus

    first = db.session.scalar(select(Tender).where(Tender.reference == "OPCC-T-2026-01"))
    assert first.status == TenderStatus.AWARDED and first.market_assessment_id
    assert db.session.scalar(select(PublishedAssessment.id)) is not None
    contract = db.session.scalar(select(Contract).where(Contract.reference == "OPCC-T-2026-01"))
    assert contract.funding_decision_id and contract.framework is not None
    assert "OPCC-T-2026-01" in client.get("/transparency").text
    second = db.session.scalar(select(Tender).where(Tender.reference == "OPCC-T-2026-02"))
    assert second.status == TenderStatus.PUBLISHED and len(second.bids) == 2


def test_demo_holds_a_delivery_plan_and_a_year_of_panel_cases(demo):
    from pam.programmes.models import Milestone, PanelCase, Pilot

    assert db.session.scalar(select(func.count(Milestone.id))) >= 3
    pilot = db.session.scalar(select(Pilot))
    assert len(pilot.sites) == 2
    assert db.session.scalar(select(func.count(PanelCase.id))) >= 40
