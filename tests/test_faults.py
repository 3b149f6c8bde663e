"""Faults injected midway through PAM's multi-step writes: the user is told plainly, and
nothing of the change is left behind; trying again then works.

Two faults, at the same point of each write (after some of its rows are flushed):
- `raise`: code inside the transaction fails (a bug, a full disk);
- `disconnect`: on PostgreSQL the server ends the request's connection mid-transaction
  (`pg_terminate_backend`, as a restart or failover would).

Each fault fires once, when the audit trail records a chosen object: by then the write
has put several rows in the database, inside its transaction.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select, text

from pam.audit import services as audit
from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.contracts.models import Contract
from pam.decisions import services as decisions
from pam.decisions.models import DecisionStatus, FundingDecision
from pam.extensions import db
from pam.files.models import StoredFile
from pam.market import tender_services as tenders
from pam.market.models import Tender, TenderStatus
from pam.returns.models import ProviderReturn, ReturnFigure, ReturnStatus, ReturnVersion
from tests.conftest import FACTORY

# `setup` is test_returns' fixture (a contract with measures and its provider's client).
from tests.test_returns import answers_for, fill, setup, template, upload  # noqa: F401

FAULTS = ["raise", "disconnect"]


class InjectedFault(RuntimeError):
    pass


@pytest.fixture
def fault(app, monkeypatch, database_url):
    """fault(kind, when): the first audit record of an object matching `when` is followed
    by the fault. Unhandled errors reach the user as the 500 page, as in production."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    fired = []

    def arm(kind: str, when):
        def after(real):
            def wrapper(actor, obj, *args, **kwargs):
                result = real(actor, obj, *args, **kwargs)
                if not fired and when(obj):
                    fired.append(obj)
                    strike(kind, database_url)
                return result

            return wrapper

        monkeypatch.setattr(audit, "record_create", after(audit.record_create))
        monkeypatch.setattr(audit, "record_update", after(audit.record_update))
        return fired

    return arm


def strike(kind: str, database_url: str) -> None:
    if kind == "raise":
        raise InjectedFault("injected midway through the write")
    db.session.flush()  # what is pending reaches the server, inside the transaction
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = create_engine(database_url)
    try:
        with killer.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        killer.dispose()


@pytest.fixture(params=FAULTS)
def kind(request, database_url):
    if request.param == "disconnect" and not database_url.startswith("postgresql"):
        pytest.skip("terminating a connection mid-transaction is a PostgreSQL test")
    return request.param


def told(response, kind: str) -> None:
    """The page says what happened and that nothing was half-saved."""
    page = html.unescape(response.get_data(as_text=True))
    if kind == "raise":
        assert response.status_code == 500
        assert "Nothing you entered has been half-saved" in page
    else:
        assert response.status_code == 503
        assert "lost its connection to the database. Nothing was saved" in page


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def audit_chain_holds() -> None:
    assert audit.verify_chain().ok


# --- return submission -------------------------------------------------------------------


def test_a_return_submission_interrupted_midway_leaves_no_trace(setup, fault, kind):  # noqa: F811
    filled = fill(template(setup), answers_for(setup, **{"K:RJ01": 32}))
    events, files = count(AuditEvent), count(StoredFile)
    fired = fault(kind, lambda obj: isinstance(obj, ReturnVersion))
    told(upload(setup, filled), kind)
    assert fired, "the fault never fired: the test proved nothing"
    assert count(ReturnVersion) == 0 and count(ReturnFigure) == 0
    assert count(StoredFile) == files  # the uploaded file is not kept either
    provider_return = db.session.scalar(select(ProviderReturn))
    assert provider_return is None or provider_return.status == ReturnStatus.DRAFT
    assert count(AuditEvent) == events
    audit_chain_holds()
    again = upload(setup, filled)  # the next request gets a working connection
    assert again.status_code == 302, again.text
    assert count(ReturnVersion) == 1
    audit_chain_holds()


# --- award -> contract (decision approval) ------------------------------------------------


@pytest.fixture
def award(make_organisation, make_service, make_area, make_user, login_as):
    """A submitted contract-award decision for a tender, and a decision maker's client."""
    winner, service, area = make_organisation("Winning Charity"), make_service(), make_area()
    deadline = datetime.now(UTC) - timedelta(days=1)
    tender = tenders.create_tender(
        FACTORY,
        {
            "reference": "T-FAULT",
            "title": "Mediation",
            "service_category_id": service.id,
            "estimated_value": "90000",
            "procedure": "open",
            "clarification_deadline": deadline - timedelta(days=5),
            "submission_deadline": deadline,
        },
        [area.id],
        [("Quality", 100, "")],
    )
    published = deadline - timedelta(days=30)
    tenders.publish_tender(FACTORY, tender, published.date(), published)
    line = decisions.save_budget_line(
        FACTORY, None,
        {"year": "2025/26", "code": "MOJ-VIC", "name": "Victims' grant",
         "funder": "Ministry of Justice", "allocation": Decimal("100000")},
    )  # fmt: skip
    officer = make_user(role=Role.OFFICER)
    decision = decisions.create_decision(
        officer,
        {
            "title": "Award T-FAULT",
            "decision_type": "contract_award",
            "provider_id": winner.id,
            "tender_id": tender.id,
            "summary": "Award to the top bid",
            "rationale": "Highest weighted score",
            "options_considered": "Award; re-tender",
            "terms": {
                "contract_reference": "RJ-FAULT",
                "service_category_id": service.id,
                "area_ids": [area.id],
                "start_on": "2025-07-01",
                "end_on": "2026-03-31",
            },
        },
        [(line.id, "50000")],
        date(2025, 6, 1),
    )
    decisions.submit_decision(officer, decision)
    db.session.commit()
    return decision, tender, login_as(make_user(role=Role.DECISION_MAKER))


def test_an_award_interrupted_between_contract_and_tender_leaves_no_trace(award, fault, kind):
    decision, tender, decider = award
    events = count(AuditEvent)
    fired = fault(kind, lambda obj: isinstance(obj, Contract))
    url = f"/decisions/{decision.id}/decide"
    told(decider.post(url, data={"outcome": "approved", "comment": "Agreed"}), kind)
    assert fired, "the fault never fired: the test proved nothing"
    assert count(Contract) == 0
    assert db.session.get(FundingDecision, decision.id).status == DecisionStatus.SUBMITTED
    assert db.session.get(FundingDecision, decision.id).contract_id is None
    assert db.session.get(Tender, tender.id).status == TenderStatus.PUBLISHED
    assert count(AuditEvent) == events
    audit_chain_holds()
    again = decider.post(url, data={"outcome": "approved", "comment": "Agreed"})
    assert again.status_code == 302, again.text
    db.session.expire_all()
    approved = db.session.get(FundingDecision, decision.id)
    assert approved.status == DecisionStatus.APPROVED and approved.contract_id is not None
    assert db.session.get(Tender, tender.id).status == TenderStatus.AWARDED
    audit_chain_holds()


# --- how a database error reaches the user (any database) ----------------------------------


@pytest.mark.parametrize(
    ("invalidated", "status", "says"),
    [
        (True, 503, "lost its connection to the database. Nothing was saved"),
        (False, 500, "Nothing you entered has been half-saved"),
    ],
)
def test_a_lost_connection_is_a_503_and_any_other_database_error_a_500(
    app, client, monkeypatch, invalidated, status, says
):
    from sqlalchemy.exc import OperationalError

    def failing():
        raise OperationalError(
            "SELECT 1", {}, Exception("gone"), connection_invalidated=invalidated
        )

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "core.cookies", failing)
    response = client.get("/cookies")
    assert response.status_code == status
    assert says in html.unescape(response.get_data(as_text=True))
