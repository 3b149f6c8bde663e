"""Tender pages as their users meet them: bidding, clarifications, sealed bids, scoring and
the award decision."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.decisions.models import FundingDecision
from pam.extensions import db
from pam.market import tender_services as tenders
from pam.market.models import Bid, Tender
from tests.conftest import FACTORY

PAST = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def make_tender(make_service, make_area, deadline: datetime, published_at: datetime) -> Tender:
    tender = tenders.create_tender(
        FACTORY,
        {
            "reference": f"T-{deadline:%Y%m%d}",
            "title": "Community mediation service",
            "service_category_id": make_service().id,
            "estimated_value": "90000",
            "procedure": "open",
            "clarification_deadline": deadline - timedelta(days=5),
            "submission_deadline": deadline,
        },
        [make_area().id],
        [("Quality", 70, "How you will run it"), ("Price", 30, "")],
    )
    tenders.publish_tender(FACTORY, tender, published_at.date(), published_at)
    db.session.commit()
    return tender


@pytest.fixture
def providers(make_user, make_organisation, login_as):
    orgs = [make_organisation("Alpha Mediation"), make_organisation("Beta Justice")]
    users = [make_user(role=Role.PROVIDER, organisation=org) for org in orgs]
    return [(user, login_as(user)) for user in users]


def test_bidding_before_the_deadline_keeps_the_bid_sealed_from_officers(
    providers, client_as, make_service, make_area
):
    tender = make_tender(make_service, make_area, datetime(2099, 1, 1, 12, tzinfo=UTC), PAST)
    (alpha, alpha_client), (_, beta_client) = providers
    url = f"/tenders/{tender.id}"
    alpha_client.post(f"{url}/questions", data={"question": "Is there a TUPE transfer?"})
    officer = client_as(Role.OFFICER)
    question = tender.clarifications[0]
    officer.post(f"{url}/questions/{question.id}/answer", data={"answer": "No transfer."})
    beta_page = beta_client.get(url).text
    assert "Is there a TUPE transfer?" in beta_page and "No transfer." in beta_page
    assert "Alpha Mediation" not in beta_page  # the asker is not named

    bad = alpha_client.post(f"{url}/bid", data={"price": "lots"})
    assert "Your price must be an amount in pounds" in bad.text
    fields = {
        "price": "85000",
        f"answer_{tender.criteria[0].id}": "SECRET METHOD",
        f"answer_{tender.criteria[1].id}": "Good value",
    }
    fake = alpha_client.post(
        f"{url}/bid",
        data={**fields, "document": (io.BytesIO(b"MZ"), "plan.pdf")},
        content_type="multipart/form-data",
    )
    assert "plan.pdf is not really a .pdf file" in fake.text
    sent = alpha_client.post(
        f"{url}/bid",
        data={**fields, "document": (io.BytesIO(b"%PDF-1.4 plan"), "plan.pdf")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    mine = tenders.live_bid(tender, alpha.organisation_id)
    doc_url = f"{url}/bids/{mine.id}/documents/{mine.documents[0].id}"
    assert alpha_client.get(doc_url).data == b"%PDF-1.4 plan"  # the bidder sees their own
    again = alpha_client.post(f"{url}/bid", data=fields)
    assert "already has a bid in" in again.text
    officer_page = officer.get(url).text
    assert "1 bid received" in officer_page
    assert "SECRET METHOD" not in officer_page and "85,000" not in officer_page
    assert officer.get(doc_url).status_code == 403  # sealed, like the answers
    assert beta_client.get(doc_url).status_code == 404
    refused = officer.post(f"{url}/open", follow_redirects=True).text
    assert "Bids stay sealed until the submission deadline" in refused
    assert tenders.live_bid(tender, alpha.organisation_id).tender.opened_at is None


def test_after_the_deadline_bids_open_are_scored_and_the_award_is_drafted(
    providers, client_as, make_user, login_as, make_service, make_area
):
    deadline = datetime.now(UTC) - timedelta(hours=1)
    tender = make_tender(make_service, make_area, deadline, deadline - timedelta(days=30))
    quality, price = tender.criteria
    for (user, _), (answer, amount) in zip(
        providers, (("Strong plan", "80000"), ("Thin plan", "70000")), strict=True
    ):
        tenders.submit_bid(
            user,
            tender,
            Decimal(amount),
            {quality.id: answer, price.id: "ok"},
            deadline - timedelta(days=1),
        )
    db.session.commit()
    late = providers[0][1].post(f"/tenders/{tender.id}/bid/withdraw", follow_redirects=True)
    assert "After the deadline a bid can no longer be withdrawn" in late.text

    lead = client_as(Role.OFFICER)
    evaluators = [make_user(role=Role.OFFICER) for _ in range(2)]
    for evaluator in evaluators:
        lead.post(f"/tenders/{tender.id}/evaluators", data={"user_id": str(evaluator.id)})
    lead.post(f"/tenders/{tender.id}/open")
    bids = db.session.scalars(select(Bid).order_by(Bid.id)).all()
    for index, evaluator in enumerate(evaluators):
        client = login_as(evaluator)
        before = client.get(f"/tenders/{tender.id}/score", follow_redirects=True).text
        assert "Declare any conflict of interest before you see the bids" in before
        assert "Strong plan" not in before
        client.post(f"/tenders/{tender.id}/declare", data={"has_conflict": "no"})
        page = client.get(f"/tenders/{tender.id}/score").text
        assert "Strong plan" in page and "£80,000.00" in page  # opened: readable now
        out_of_scale = client.post(
            f"/tenders/{tender.id}/score",
            data={f"score-{bids[0].id}-{quality.id}": "9", f"why-{bids[0].id}-{quality.id}": "x"},
        )
        assert "Scores run from 0 to 5" in out_of_scale.text
        cell = f"{bids[0].id}-{quality.id}"
        words = client.post(
            f"/tenders/{tender.id}/score", data={f"score-{cell}": "four", f"why-{cell}": "y"}
        )
        assert f"Bid {bids[0].id}, {quality.name}: enter a whole-number score" in words.text
        assert ">y</textarea>" in words.text  # what was typed is kept
        marks = {bids[0].id: (5 - index, 3), bids[1].id: (2, 4)}
        data = {"finish": "y"}
        for bid_id, marks_for_bid in marks.items():
            for criterion, mark in zip((quality, price), marks_for_bid, strict=True):
                data[f"score-{bid_id}-{criterion.id}"] = str(mark)
                data[f"why-{bid_id}-{criterion.id}"] = "Reason"
        assert client.post(f"/tenders/{tender.id}/score", data=data).status_code == 302
        if index == 0:  # one of two has submitted: no ranking, no award yet
            assert "Evaluation in progress" in lead.get(f"/tenders/{tender.id}").text
            early = lead.post(f"/tenders/{tender.id}/award", follow_redirects=True).text
            assert "The evaluation must be complete" in early
    page = lead.get(f"/tenders/{tender.id}").text
    assert "Alpha Mediation" in page and "Ranking" in page
    moderation = lead.get(f"/tenders/{tender.id}/moderate").text
    assert "Reason" in moderation  # the evaluators' scores and reasons side by side
    version = str(db.session.get(Tender, tender.id).version)
    bad = lead.post(
        f"/tenders/{tender.id}/moderate",
        data={"version": version, f"final-{bids[1].id}-{quality.id}": "7"},
    )
    assert "Scores run from 0 to 5" in bad.text
    words = lead.post(
        f"/tenders/{tender.id}/moderate",
        data={"version": version, f"final-{bids[1].id}-{quality.id}": "5.5"},
    )
    assert f"Beta Justice, {quality.name}: enter a whole-number score" in words.text
    lead.post(
        f"/tenders/{tender.id}/moderate",
        data={
            "version": version,
            f"final-{bids[1].id}-{quality.id}": "5",
            f"note-{bids[1].id}-{quality.id}": "Agreed",
        },
    )
    ranked = tenders.ranking(db.session.get(Tender, tender.id))
    assert ranked[0].bid.provider.name == "Beta Justice"  # moderation changed the order
    response = lead.post(f"/tenders/{tender.id}/award")
    assert response.status_code == 302 and "/decisions/" in response.headers["Location"]
    decision = db.session.scalar(select(FundingDecision))
    assert decision.tender_id == tender.id and decision.provider.name == "Beta Justice"
    assert decision.terms["contract_reference"] == tender.reference


@pytest.fixture
def scored(make_service, make_area, make_organisation, make_user):
    """A tender whose two evaluators have submitted their scores: ready to moderate."""
    deadline = datetime.now(UTC) - timedelta(hours=1)
    tender = make_tender(make_service, make_area, deadline, deadline - timedelta(days=30))
    bidder = make_user(role=Role.PROVIDER, organisation=make_organisation("Alpha Mediation"))
    bid = tenders.submit_bid(
        bidder, tender, Decimal("80000"), {c.id: "Plan" for c in tender.criteria},
        deadline - timedelta(days=1),
    )  # fmt: skip
    officers = [make_user(role=Role.OFFICER) for _ in range(2)]
    evaluators = [tenders.assign_evaluator(FACTORY, tender, officer) for officer in officers]
    tenders.open_bids(FACTORY, tender, datetime.now(UTC))
    for officer, evaluator in zip(officers, evaluators, strict=True):
        tenders.declare_interest(officer, evaluator, False, "")
        for criterion in tender.criteria:
            tenders.record_score(officer, evaluator, bid, criterion, 3, "Sound")
        tenders.submit_scores(officer, evaluator)
    db.session.commit()
    return tender, bid, officers


def test_a_moderation_grid_opened_before_someone_elses_save_is_refused_with_the_input_kept(
    scored, login_as
):
    tender, bid, officers = scored
    quality = tender.criteria[0]
    cell = f"{bid.id}-{quality.id}"
    first, second = (login_as(officer) for officer in officers)
    url = f"/tenders/{tender.id}/moderate"
    opened = db.session.get(Tender, tender.id).version  # both grids open at this version
    assert f'name="version" value="{opened}"' in second.get(url).text
    saved = first.post(url, data={"version": opened, f"final-{cell}": "4", f"note-{cell}": "Met"})
    assert saved.status_code == 302
    stale = second.post(
        url, data={"version": opened, f"final-{cell}": "1", f"note-{cell}": "Weak plan"}
    )
    assert "Someone else changed this tender&#39;s agreed scores" in stale.text
    assert 'value="1"' in stale.text and 'value="Weak plan"' in stale.text  # input kept
    assert "Saved now: 4, Met" in stale.text  # beside what the first officer agreed
    agreed = tenders.moderated_scores(db.session.get(Tender, tender.id))[(bid.id, quality.id)]
    assert (agreed.score, agreed.note) == (4, "Met")  # the refused grid changed nothing
    fresh = str(db.session.get(Tender, tender.id).version)
    assert f'name="version" value="{fresh}"' in stale.text  # saving again applies it
    assert second.post(url, data={"version": fresh, f"final-{cell}": "1"}).status_code == 302
    missing = first.post(url, data={f"final-{cell}": "2"})  # a form without a version
    assert "Someone else changed" in missing.text


def test_two_moderation_saves_racing_past_the_version_check_meet_at_the_database(
    scored, login_as, monkeypatch
):
    """Both requests read the same version; the second UPDATE finds no row at that version."""
    tender, bid, officers = scored
    cell = f"{bid.id}-{tender.criteria[0].id}"
    checked = tenders.begin_moderation

    def and_meanwhile_another_save_lands(actor, racing, expected):
        # The page has read the tender; another officer's save lands before this one writes.
        db.session.connection().execute(
            text("UPDATE tenders SET version = version + 1 WHERE id = :id"), {"id": racing.id}
        )
        checked(actor, racing, expected)  # passes: it compares with the version read

    monkeypatch.setattr(tenders, "begin_moderation", and_meanwhile_another_save_lands)
    version = db.session.get(Tender, tender.id).version
    response = login_as(officers[0]).post(
        f"/tenders/{tender.id}/moderate", data={"version": version, f"final-{cell}": "5"}
    )
    assert response.status_code == 200
    assert "Someone else changed this tender&#39;s agreed scores" in response.text
    assert 'value="5"' in response.text
    assert tenders.moderated_scores(db.session.get(Tender, tender.id)) == {}


def test_a_refused_score_grid_keeps_what_the_evaluator_retyped(scored, login_as, make_user):
    tender, bid, _ = scored
    late = make_user(role=Role.OFFICER)
    evaluator = tenders.assign_evaluator(FACTORY, tender, late)
    tenders.declare_interest(late, evaluator, False, "")
    quality, price = tender.criteria
    tenders.record_score(late, evaluator, bid, quality, 2, "First thoughts")
    db.session.commit()
    page = login_as(late).post(
        f"/tenders/{tender.id}/score",
        data={
            f"score-{bid.id}-{quality.id}": "4",
            f"why-{bid.id}-{quality.id}": "On reflection",
            f"score-{bid.id}-{price.id}": "lots",
            f"why-{bid.id}-{price.id}": "Cheap",
        },
    )
    assert "enter a whole-number score" in page.text
    assert 'value="4"' in page.text and ">On reflection</textarea>" in page.text
    assert 'value="lots"' in page.text


def test_absurdly_long_numbers_in_either_grid_get_a_message_not_an_error(scored, login_as):
    tender, bid, officers = scored
    cell = f"{bid.id}-{tender.criteria[0].id}"
    version = db.session.get(Tender, tender.id).version
    moderation = login_as(officers[0]).post(
        f"/tenders/{tender.id}/moderate", data={"version": version, f"final-{cell}": "9" * 5000}
    )
    assert moderation.status_code == 200 and "enter a whole-number score" in moderation.text
    assert tenders.moderated_scores(db.session.get(Tender, tender.id)) == {}


def test_a_blank_agreed_score_withdraws_it_and_a_note_alone_is_a_problem(scored, login_as):
    tender, bid, officers = scored
    quality = tender.criteria[0]
    cell = f"{bid.id}-{quality.id}"
    officer, url = login_as(officers[0]), f"/tenders/{tender.id}/moderate"

    def version():
        return db.session.get(Tender, tender.id).version

    assert officer.post(url, data={"version": version(), f"final-{cell}": "4"}).status_code == 302
    lonely = officer.post(url, data={"version": version(), f"note-{cell}": "Strong on outcomes"})
    assert "enter the agreed score for your note, or clear it" in lonely.text
    assert 'value="Strong on outcomes"' in lonely.text  # kept
    agreed = tenders.moderated_scores(db.session.get(Tender, tender.id))
    assert agreed[(bid.id, quality.id)].score == 4  # nothing changed
    assert officer.post(url, data={"version": version(), f"final-{cell}": ""}).status_code == 302
    assert tenders.moderated_scores(db.session.get(Tender, tender.id)) == {}  # average again
    withdrawn = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "delete").order_by(AuditEvent.id.desc())
    )
    assert withdrawn.summary == "Agreed score withdrawn"


def test_submitting_an_incomplete_grid_keeps_the_scores_typed_so_far(scored, login_as, make_user):
    tender, bid, _ = scored
    late = make_user(role=Role.OFFICER)
    evaluator = tenders.assign_evaluator(FACTORY, tender, late)
    tenders.declare_interest(late, evaluator, False, "")
    db.session.commit()
    quality = tender.criteria[0]
    page = login_as(late).post(
        f"/tenders/{tender.id}/score",
        data={
            "finish": "y",
            f"score-{bid.id}-{quality.id}": "9" * 5000,
            f"why-{bid.id}-{quality.id}": "Clear plan",
        },
    )
    assert "enter a whole-number score" in page.text
    page = login_as(late).post(
        f"/tenders/{tender.id}/score",
        data={"finish": "y", f"score-{bid.id}-{quality.id}": "4",
              f"why-{bid.id}-{quality.id}": "Clear plan"},
    )  # fmt: skip
    assert "Score every bid against every criterion (1 to go)" in page.text
    db.session.expire_all()
    kept = db.session.get(type(evaluator), evaluator.id)
    assert [s.score for s in kept.scores] == [4] and kept.scores_submitted_at is None
