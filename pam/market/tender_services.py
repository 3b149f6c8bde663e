"""Tenders: publishing, clarifications, sealed bids, independent scoring, moderation, ranking.

Two rules hold here, where the data is read and written, not only in the pages:
- **Sealed bids.** `bid_content()` is the only way to read a bid's answers and price, and
  it refuses anyone but the bidder until the bids are opened, which `open_bids()` allows
  only after the submission deadline, by the server's clock, and records in the trail.
- **Independent scoring.** `scores_visible_to()` shows an evaluator the others' scores only
  once they have submitted their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.core.periods import as_utc
from pam.extensions import db
from pam.files import services as files
from pam.market.models import (
    Bid,
    BidDocument,
    BidStatus,
    Clarification,
    Criterion,
    Evaluator,
    MarketAssessment,
    ModeratedScore,
    Procedure,
    Score,
    Tender,
    TenderStatus,
)
from pam.providers.models import Area


class SealedBidError(BusinessRuleError):
    """A bid's content was asked for before the bids were opened."""


# --- the tender ---------------------------------------------------------------------------


def create_tender(
    actor: Any,
    fields: dict[str, Any],
    area_ids: list[int],
    criteria: list[tuple[str, int, str]],
) -> Tender:
    """A draft tender with its criteria (name, weight, description)."""
    tender = Tender(
        reference=(fields.get("reference") or "").strip().upper(),
        title=(fields.get("title") or "").strip(),
        description=(fields.get("description") or "").strip(),
        service_category_id=fields["service_category_id"],
        estimated_value=Decimal(fields["estimated_value"]),
        procedure=Procedure(fields["procedure"]),
        direct_award_justification=(fields.get("direct_award_justification") or "").strip(),
        clarification_deadline=fields["clarification_deadline"],
        submission_deadline=fields["submission_deadline"],
        award_on=fields.get("award_on"),
        scale_max=int(fields.get("scale_max") or 5),
        market_assessment_id=fields.get("market_assessment_id"),
    )
    if not tender.reference or not tender.title:
        raise BusinessRuleError("Enter the tender's reference and title", field="reference")
    if db.session.scalar(select(Tender.id).where(Tender.reference == tender.reference)):
        raise BusinessRuleError("A tender with this reference already exists", field="reference")
    tender.areas = list(db.session.scalars(select(Area).where(Area.id.in_(area_ids or []))))
    for position, (name, weight, description) in enumerate(criteria, start=1):
        tender.criteria.append(
            Criterion(
                name=name.strip(), weight=int(weight), description=description, position=position
            )
        )
    db.session.add(tender)
    audit.record_create(actor, tender)
    for criterion in tender.criteria:
        audit.record_create(actor, criterion)
    return tender


def check_ready(tender: Tender, now: datetime) -> None:
    """Everything a tender needs before it can be published, with the reason if not."""
    if not tender.criteria:
        raise BusinessRuleError("Add the evaluation criteria", field="criteria")
    if any(criterion.weight <= 0 for criterion in tender.criteria):
        raise BusinessRuleError("Every criterion needs a weight above 0", field="criteria")
    if tender.total_weight != 100:
        raise BusinessRuleError(
            f"The criteria's weights add up to {tender.total_weight}: they must add up to 100",
            field="criteria",
        )
    if not 2 <= tender.scale_max <= 10:
        raise BusinessRuleError("The scoring scale must run from 0 to between 2 and 10")
    if tender.procedure == Procedure.DIRECT_AWARD and not tender.direct_award_justification:
        raise BusinessRuleError(
            "A direct award needs its justification", "direct_award_justification"
        )
    if as_utc(tender.submission_deadline) <= now:
        raise BusinessRuleError(
            "The submission deadline must be in the future", "submission_deadline"
        )
    if as_utc(tender.clarification_deadline) >= as_utc(tender.submission_deadline):
        raise BusinessRuleError(
            "The clarification deadline must come before the submission deadline",
            field="clarification_deadline",
        )
    if tender.market_assessment_id:
        assessment = db.session.get(MarketAssessment, tender.market_assessment_id)
        if assessment is None or not assessment.published_versions:
            raise BusinessRuleError("A tender can only be based on a published assessment")


def publish_tender(actor: Any, tender: Tender, today: date, now: datetime) -> None:
    if tender.status != TenderStatus.DRAFT:
        raise BusinessRuleError("Only a draft tender can be published")
    check_ready(tender, now)
    before = audit.snapshot(tender)
    tender.status = TenderStatus.PUBLISHED
    tender.published_on = today
    audit.record_update(actor, tender, before, action="publish")


def is_open_for_bids(tender: Tender, now: datetime) -> bool:
    return tender.status == TenderStatus.PUBLISHED and now < as_utc(tender.submission_deadline)


def open_for_bids(now: datetime) -> Select:
    """The tenders is_open_for_bids() accepts, as a query: closing soonest first."""
    return (
        select(Tender)
        .where(Tender.status == TenderStatus.PUBLISHED, Tender.submission_deadline > now)
        .order_by(Tender.submission_deadline, Tender.id)
    )


# --- clarifications -------------------------------------------------------------------------


def ask_clarification(actor: Any, tender: Tender, question: str, now: datetime) -> Clarification:
    if not is_open_for_bids(tender, now) or now >= as_utc(tender.clarification_deadline):
        raise BusinessRuleError("The deadline for clarification questions has passed")
    if not (question or "").strip():
        raise BusinessRuleError("Enter your question", field="question")
    clarification = Clarification(
        tender=tender, question=question.strip(), asked_by_organisation_id=actor.organisation_id
    )
    db.session.add(clarification)
    audit.record_create(actor, clarification)
    return clarification


def answer_clarification(actor: Any, clarification: Clarification, answer: str) -> None:
    if not (answer or "").strip():
        raise BusinessRuleError("Enter the answer", field="answer")
    before = audit.snapshot(clarification)
    clarification.answer = answer.strip()
    clarification.answered_at = utcnow()
    audit.record_update(actor, clarification, before, action="answer")


# --- bids -------------------------------------------------------------------------------


def live_bid(tender: Tender, provider_id: int) -> Bid | None:
    return db.session.scalar(
        select(Bid).where(
            Bid.tender_id == tender.id,
            Bid.provider_id == provider_id,
            Bid.status == BidStatus.SUBMITTED,
        )
    )


def submit_bid(
    actor: Any,
    tender: Tender,
    price: Decimal | None,
    answers: dict[int, str],
    now: datetime,
    documents: list[tuple[str, bytes]] | None = None,
) -> Bid:
    """A provider's bid, before the deadline (server time); one live bid per provider."""
    if not is_open_for_bids(tender, now):
        raise BusinessRuleError("The deadline for bids has passed: no bid can be submitted")
    if live_bid(tender, actor.organisation_id) is not None:
        raise BusinessRuleError(
            "Your organisation already has a bid in: withdraw it first to submit a new one"
        )
    if price is None or price <= 0:
        raise BusinessRuleError("Enter your price, more than £0", field="price")
    missing = [c.name for c in tender.criteria if not (answers.get(c.id) or "").strip()]
    if missing:
        raise BusinessRuleError(f"Answer every criterion: {', '.join(missing)}", field="answers")
    bid = Bid(
        tender=tender,
        provider_id=actor.organisation_id,
        live_key=actor.organisation_id,
        price=price,
        answers={str(key): value.strip() for key, value in answers.items()},
        submitted_by_id=actor.id,
    )
    db.session.add(bid)
    audit.record_create(actor, bid, summary="Bid submitted (sealed)")
    for filename, content in documents or []:
        stored = files.store_file(actor, filename, content)
        document = BidDocument(bid=bid, file=stored)
        db.session.add(document)
        audit.record_create(actor, document)
    return bid


def withdraw_bid(actor: Any, bid: Bid, now: datetime) -> None:
    if bid.status != BidStatus.SUBMITTED:
        raise BusinessRuleError("This bid has already been withdrawn")
    if not is_open_for_bids(bid.tender, now):
        raise BusinessRuleError("After the deadline a bid can no longer be withdrawn")
    before = audit.snapshot(bid)
    bid.status = BidStatus.WITHDRAWN
    bid.live_key = None
    bid.withdrawn_at = utcnow()
    audit.record_update(actor, bid, before, action="withdraw")


def open_bids(actor: Any, tender: Tender, now: datetime) -> None:
    """Unseal the bids: only once the submission deadline has passed."""
    if tender.opened_at is not None:
        return
    if now < as_utc(tender.submission_deadline):
        raise SealedBidError("Bids stay sealed until the submission deadline has passed")
    before = audit.snapshot(tender)
    tender.opened_at = now
    live = [bid for bid in tender.bids if bid.status == BidStatus.SUBMITTED]
    audit.record_update(
        actor, tender, before, action="open_bids", summary=f"Opened {len(live)} sealed bid(s)"
    )


@dataclass(frozen=True)
class BidContent:
    price: Decimal
    answers: dict[str, str]


def bid_content(user: Any, bid: Bid) -> BidContent:
    """A bid's price and answers: to its own provider always, to others once opened."""
    own = getattr(user, "is_provider", False) and user.organisation_id == bid.provider_id
    if not own and bid.tender.opened_at is None:
        raise SealedBidError("This bid is sealed until the submission deadline has passed")
    return BidContent(bid.price, dict(bid.answers))


# --- evaluation ------------------------------------------------------------------------------


def assign_evaluator(actor: Any, tender: Tender, user: Any) -> Evaluator:
    from pam.auth.models import Role

    if user.role != Role.OFFICER or not user.is_active_account:
        raise BusinessRuleError("Evaluators are active commissioning officers", field="user_id")
    if any(e.user_id == user.id for e in tender.evaluators):
        raise BusinessRuleError(f"{user.full_name} is already an evaluator", field="user_id")
    evaluator = Evaluator(tender=tender, user=user)
    db.session.add(evaluator)
    audit.record_create(actor, evaluator)
    return evaluator


def declare_interest(
    actor: Any, evaluator: Evaluator, has_conflict: bool, declaration: str
) -> None:
    """Every evaluator declares first; one with a conflict does not score."""
    if actor.id != evaluator.user_id:
        raise BusinessRuleError("Only the evaluator can make their own declaration")
    if has_conflict and not (declaration or "").strip():
        raise BusinessRuleError("Describe the conflict of interest", field="declaration")
    before = audit.snapshot(evaluator)
    evaluator.has_conflict = has_conflict
    evaluator.declaration = (declaration or "None").strip()
    evaluator.declared_at = utcnow()
    audit.record_update(actor, evaluator, before, action="declare_interest")


def _scorable(actor: Any, evaluator: Evaluator) -> None:
    if actor.id != evaluator.user_id:
        raise BusinessRuleError("Only the evaluator can enter their own scores")
    if evaluator.has_conflict is None:
        raise BusinessRuleError("Declare any conflict of interest before scoring")
    if evaluator.has_conflict:
        raise BusinessRuleError("You declared a conflict of interest, so you do not score")
    if evaluator.tender.opened_at is None:
        raise SealedBidError("The bids are still sealed")
    if evaluator.scores_submitted_at is not None:
        raise BusinessRuleError("Your scores are submitted and can no longer change")


def record_score(
    actor: Any, evaluator: Evaluator, bid: Bid, criterion: Criterion, score: int, justification: str
) -> Score:
    _scorable(actor, evaluator)
    scale = evaluator.tender.scale_max
    if bid.tender_id != evaluator.tender_id or criterion.tender_id != evaluator.tender_id:
        raise BusinessRuleError("That bid or criterion belongs to another tender")
    if not 0 <= score <= scale:
        raise BusinessRuleError(f"Scores run from 0 to {scale}", field="score")
    if not (justification or "").strip():
        raise BusinessRuleError("Give the reason for the score", field="justification")
    existing = next(
        (s for s in evaluator.scores if s.bid_id == bid.id and s.criterion_id == criterion.id), None
    )
    if existing is None:
        existing = Score(
            evaluator=evaluator,
            bid_id=bid.id,
            criterion_id=criterion.id,
            score=score,
            justification=justification.strip(),
        )
        db.session.add(existing)
        audit.record_create(actor, existing)
    else:
        before = audit.snapshot(existing)
        existing.score, existing.justification = score, justification.strip()
        audit.record_update(actor, existing, before)
    return existing


def live_bids(tender: Tender) -> list[Bid]:
    return [bid for bid in tender.bids if bid.status == BidStatus.SUBMITTED]


def submit_scores(actor: Any, evaluator: Evaluator) -> None:
    _scorable(actor, evaluator)
    needed = {(b.id, c.id) for b in live_bids(evaluator.tender) for c in evaluator.tender.criteria}
    given = {(s.bid_id, s.criterion_id) for s in evaluator.scores}
    if needed - given:
        raise BusinessRuleError(
            f"Score every bid against every criterion ({len(needed - given)} to go)"
        )
    before = audit.snapshot(evaluator)
    evaluator.scores_submitted_at = utcnow()
    audit.record_update(actor, evaluator, before, action="submit_scores")


def scores_visible_to(user: Any, tender: Tender) -> list[Score]:
    """Other evaluators' scores are hidden from an evaluator until they submit their own."""
    mine = next((e for e in tender.evaluators if e.user_id == getattr(user, "id", None)), None)
    if mine is not None and mine.scores_submitted_at is None:
        return list(mine.scores)
    return [score for evaluator in tender.evaluators for score in evaluator.scores]


def scoring_evaluators(tender: Tender) -> list[Evaluator]:
    return [e for e in tender.evaluators if e.has_conflict is False]


def evaluation_complete(tender: Tender) -> bool:
    """Every evaluator has declared, and every one without a conflict has submitted scores."""
    return (
        bool(tender.evaluators)
        and all(
            e.has_conflict is True or (e.has_conflict is False and e.scores_submitted_at)
            for e in tender.evaluators
        )
        and bool(scoring_evaluators(tender))
    )


def begin_moderation(actor: Any, tender: Tender, expected_version: int | None) -> None:
    """Start saving a moderation grid opened at `expected_version` of the tender.

    Officers moderate together, often from one meeting; a grid saved over someone else's
    newer agreed scores would silently undo them. Stamping the tender bumps its version,
    so the second of two grids opened at the same version is refused (and, if both pass
    this check at once, the database refuses the second UPDATE)."""
    if expected_version != tender.version:
        raise StaleRecordError("tender's agreed scores")
    before = audit.snapshot(tender)
    tender.moderated_at = utcnow()
    audit.record_update(actor, tender, before, action="moderate", summary="Agreed scores saved")


def moderate(
    actor: Any, tender: Tender, bid: Bid, criterion: Criterion, score: int, note: str
) -> ModeratedScore:
    """Agree the final score, once every scoring evaluator has submitted theirs."""
    evaluators = scoring_evaluators(tender)
    if not evaluators or any(e.scores_submitted_at is None for e in evaluators):
        raise BusinessRuleError("Moderation starts once every evaluator has submitted scores")
    if not 0 <= score <= tender.scale_max:
        raise BusinessRuleError(f"Scores run from 0 to {tender.scale_max}", field="score")
    existing = db.session.scalar(
        select(ModeratedScore).where(
            ModeratedScore.bid_id == bid.id, ModeratedScore.criterion_id == criterion.id
        )
    )
    before = audit.snapshot(existing) if existing else {}
    record = existing or ModeratedScore(bid_id=bid.id, criterion_id=criterion.id)
    record.score, record.note = score, (note or "").strip()
    record.moderated_by_id = getattr(actor, "id", None)
    if existing is None:
        db.session.add(record)
        audit.record_create(actor, record)
    else:
        audit.record_update(actor, record, before)
    return record


def clear_moderation(actor: Any, bid: Bid, criterion: Criterion) -> None:
    """Withdraw an agreed score: the ranking goes back to the evaluators' average."""
    existing = db.session.scalar(
        select(ModeratedScore).where(
            ModeratedScore.bid_id == bid.id, ModeratedScore.criterion_id == criterion.id
        )
    )
    if existing is not None:
        audit.record_delete(actor, existing, summary="Agreed score withdrawn")
        db.session.delete(existing)


@dataclass(frozen=True)
class RankedBid:
    bid: Bid
    weighted: Decimal  # out of 100
    moderated: bool


def ranking(tender: Tender) -> list[RankedBid]:
    """Bids by weighted score: the moderated score where agreed, else the evaluators' mean."""
    moderated = {
        (m.bid_id, m.criterion_id): m.score
        for m in db.session.scalars(
            select(ModeratedScore).where(ModeratedScore.bid_id.in_([b.id for b in tender.bids]))
        )
    }
    # Only submitted scores count: a half-finished evaluation must not steer the ranking.
    evaluators = [e for e in scoring_evaluators(tender) if e.scores_submitted_at]
    ranked = []
    for bid in live_bids(tender):
        total, all_moderated = Decimal(0), True
        for criterion in tender.criteria:
            key = (bid.id, criterion.id)
            if key in moderated:
                value = Decimal(moderated[key])
            else:
                all_moderated = False
                given = [
                    s.score
                    for e in evaluators
                    for s in e.scores
                    if s.bid_id == bid.id and s.criterion_id == criterion.id
                ]
                value = Decimal(sum(given)) / len(given) if given else Decimal(0)
            total += value / tender.scale_max * criterion.weight
        ranked.append(RankedBid(bid, total.quantize(Decimal("0.01")), all_moderated))
    return sorted(ranked, key=lambda r: r.weighted, reverse=True)


def mark_awarded(actor: Any, tender: Tender, decision_reference: str) -> None:
    """The tender's award decision has been approved."""
    if tender.status == TenderStatus.AWARDED:
        return
    before = audit.snapshot(tender)
    tender.status = TenderStatus.AWARDED
    audit.record_update(
        actor, tender, before, action="award", summary=f"Awarded: {decision_reference}"
    )


def moderated_scores(tender: Tender) -> dict[tuple[int, int], ModeratedScore]:
    return {
        (m.bid_id, m.criterion_id): m
        for m in db.session.scalars(
            select(ModeratedScore).where(ModeratedScore.bid_id.in_([b.id for b in tender.bids]))
        )
    }
