"""Tenders at the service layer: the rules that must hold whatever page or script calls them.

Sealed bids, the deadline by the server's clock, one live bid per provider, weights that
sum to 100, scores within the scale, independent scoring, moderation and the ranking.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.core.exceptions import BusinessRuleError
from pam.extensions import db
from pam.market import tender_services as tenders
from pam.market.models import Tender
from tests.conftest import FACTORY

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
AFTER = DEADLINE + timedelta(seconds=1)


@pytest.fixture
def tender(app, make_service, make_area):
    made = tenders.create_tender(
        FACTORY,
        {
            "reference": "t-2026-01",
            "title": "Restorative justice service",
            "service_category_id": make_service().id,
            "estimated_value": "300000",
            "procedure": "open",
            "clarification_deadline": DEADLINE - timedelta(days=7),
            "submission_deadline": DEADLINE,
            "scale_max": 5,
        },
        [make_area().id],
        [("Quality", 60, ""), ("Price", 30, ""), ("Social value", 10, "")],
    )
    tenders.publish_tender(FACTORY, made, NOW.date(), NOW)
    db.session.commit()
    return made


@pytest.fixture
def bidders(make_user, make_organisation):
    return [make_user(role=Role.PROVIDER, organisation=make_organisation()) for _ in range(2)]


def answers(tender, text_="Our approach"):
    return {criterion.id: f"{text_} to {criterion.name}" for criterion in tender.criteria}


def bid(tender, user, price="250000", when=NOW):
    made = tenders.submit_bid(user, tender, Decimal(price), answers(tender), when)
    db.session.commit()
    return made


def test_weights_must_sum_to_100_and_the_timetable_must_make_sense(app, make_service):
    base = {
        "reference": "T-X",
        "title": "x",
        "service_category_id": make_service().id,
        "estimated_value": "1",
        "procedure": "open",
        "clarification_deadline": DEADLINE,
        "submission_deadline": DEADLINE + timedelta(days=1),
    }
    draft = tenders.create_tender(FACTORY, base, [], [("Quality", 60, ""), ("Price", 30, "")])
    with pytest.raises(BusinessRuleError, match="add up to 90: they must add up to 100"):
        tenders.publish_tender(FACTORY, draft, NOW.date(), NOW)
    db.session.rollback()
    direct = tenders.create_tender(
        FACTORY, {**base, "reference": "T-Y", "procedure": "direct_award"}, [], [("All", 100, "")]
    )
    with pytest.raises(BusinessRuleError, match="A direct award needs its justification"):
        tenders.publish_tender(FACTORY, direct, NOW.date(), NOW)
    db.session.rollback()
    late_fields = {
        **base,
        "reference": "T-Z",
        "clarification_deadline": DEADLINE + timedelta(days=2),
    }
    late = tenders.create_tender(FACTORY, late_fields, [], [("All", 100, "")])
    with pytest.raises(BusinessRuleError, match="clarification deadline must come before"):
        tenders.publish_tender(FACTORY, late, NOW.date(), NOW)


def test_bids_are_sealed_until_the_deadline_then_opened_with_an_audit_event(
    tender, bidders, make_user
):
    first = bid(tender, bidders[0])
    officer = make_user(role=Role.OFFICER)
    assert tenders.bid_content(bidders[0], first).price == Decimal("250000")  # their own
    for reader in (officer, bidders[1]):
        with pytest.raises(tenders.SealedBidError):
            tenders.bid_content(reader, first)
    with pytest.raises(tenders.SealedBidError, match="until the submission deadline"):
        tenders.open_bids(officer, tender, DEADLINE - timedelta(seconds=1))
    created = db.session.scalar(
        select(AuditEvent).where(AuditEvent.record_type == "bids", AuditEvent.action == "create")
    )
    assert "Our approach" not in str(created.changes) and "250000" not in str(created.changes)
    tenders.open_bids(officer, tender, AFTER)
    db.session.commit()
    assert tenders.bid_content(officer, first).answers
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "open_bids"))


def test_the_deadline_is_the_servers_and_a_provider_has_one_live_bid(tender, bidders):
    first = bid(tender, bidders[0])
    with pytest.raises(BusinessRuleError, match="already has a bid in"):
        bid(tender, bidders[0], price="1")
    db.session.rollback()
    tenders.withdraw_bid(bidders[0], first, NOW)
    db.session.commit()
    again = bid(tender, bidders[0], price="240000")
    assert again.live_key == bidders[0].organisation_id and first.live_key is None
    with pytest.raises(BusinessRuleError, match="deadline for bids has passed"):
        tenders.submit_bid(bidders[1], tender, Decimal(1), answers(tender), AFTER)
    with pytest.raises(BusinessRuleError, match="no longer be withdrawn"):
        tenders.withdraw_bid(bidders[0], again, AFTER)


def test_the_database_itself_refuses_a_second_live_bid(tender, bidders):
    bid(tender, bidders[0])
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "INSERT INTO bids (tender_id, provider_id, live_key, status, price, answers,"
                " submitted_at) VALUES (:t, :p, :p, 'submitted', 1, '{}', :now)"
            ),
            {"t": tender.id, "p": bidders[0].organisation_id, "now": NOW},
        )
    db.session.rollback()


def test_evaluators_declare_then_score_independently_then_moderate(tender, bidders, make_user):
    bids = [bid(tender, bidders[0]), bid(tender, bidders[1], price="200000")]
    officers = [make_user(role=Role.OFFICER) for _ in range(3)]
    evaluators = [tenders.assign_evaluator(FACTORY, tender, officer) for officer in officers]
    db.session.commit()
    tenders.open_bids(FACTORY, tender, AFTER)
    quality = tender.criteria[0]
    with pytest.raises(BusinessRuleError, match="Declare any conflict"):
        tenders.record_score(officers[0], evaluators[0], bids[0], quality, 4, "Strong")
    tenders.declare_interest(officers[2], evaluators[2], True, "Trustee of a bidder")
    with pytest.raises(BusinessRuleError, match="you do not score"):
        tenders.record_score(officers[2], evaluators[2], bids[0], quality, 4, "x")
    for officer, evaluator in zip(officers[:2], evaluators[:2], strict=True):
        tenders.declare_interest(officer, evaluator, False, "")
    with pytest.raises(BusinessRuleError, match="Scores run from 0 to 5"):
        tenders.record_score(officers[0], evaluators[0], bids[0], quality, 6, "Too good")
    with pytest.raises(BusinessRuleError, match="Give the reason"):
        tenders.record_score(officers[0], evaluators[0], bids[0], quality, 4, " ")
    marks = {0: (5, 3, 4), 1: (3, 5, 2)}  # per bid: quality, price, social
    for officer, evaluator, offset in (
        (officers[0], evaluators[0], 0),
        (officers[1], evaluators[1], -1),
    ):
        for index, current in enumerate(bids):
            for criterion, mark in zip(tender.criteria, marks[index], strict=True):
                tenders.record_score(
                    officer, evaluator, current, criterion, max(0, mark + offset), "Because"
                )
    # Before submitting, an evaluator sees only their own scores.
    assert {s.evaluator_id for s in tenders.scores_visible_to(officers[0], tender)} == {
        evaluators[0].id
    }
    with pytest.raises(BusinessRuleError, match="once every evaluator has submitted"):
        tenders.moderate(FACTORY, tender, bids[0], quality, 5, "")
    tenders.submit_scores(officers[0], evaluators[0])
    assert len({s.evaluator_id for s in tenders.scores_visible_to(officers[0], tender)}) == 2
    tenders.submit_scores(officers[1], evaluators[1])
    with pytest.raises(BusinessRuleError, match="can no longer change"):
        tenders.record_score(officers[0], evaluators[0], bids[0], quality, 1, "Changed my mind")
    tenders.moderate(FACTORY, tender, bids[0], quality, 5, "Agreed at moderation")
    db.session.commit()
    ranked = tenders.ranking(tender)
    # Bid 0: quality 5 (moderated) *60/5 + price mean 2.5 *30/5 + social mean 3.5 *10/5 = 82
    # Bid 1: quality mean 2.5 *12 + price mean 4.5 *6 + social mean 1.5 *2 = 60
    expected = [(bids[0].id, Decimal("82.00")), (bids[1].id, Decimal("60.00"))]
    assert [(r.bid.id, r.weighted) for r in ranked] == expected


def test_clarifications_close_at_their_deadline(tender, bidders):
    asked = tenders.ask_clarification(bidders[0], tender, "Is TUPE likely?", NOW)
    tenders.answer_clarification(FACTORY, asked, "No staff transfer is expected.")
    db.session.commit()
    with pytest.raises(BusinessRuleError, match="deadline for clarification questions has passed"):
        tenders.ask_clarification(bidders[1], tender, "Late?", DEADLINE - timedelta(days=1))
    assert db.session.scalar(select(Tender)).clarifications[0].answer.startswith("No staff")
    assert date(2026, 1, 10) == tender.published_on
