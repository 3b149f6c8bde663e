"""A demo market assessment: restorative justice for adult victims across Dorset, published
once and since revised with new evidence (so both a published version and a draft show)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from pam.auth.models import User
from pam.extensions import db
from pam.market import services
from pam.market.models import MarketAssessment
from pam.providers.models import Area, ServiceCategory

TITLE = "Restorative justice for adult victims: Dorset and BCP, 2027 onwards"


def load_assessments(actor) -> int:
    if db.session.scalar(select(MarketAssessment.id).where(MarketAssessment.title == TITLE)):
        return 0
    author = db.session.scalar(select(User).where(User.email == "officer@opcc.example.org"))
    service = db.session.scalar(select(ServiceCategory).where(ServiceCategory.code == "RJ-ADULT"))
    areas = db.session.scalars(select(Area).where(Area.code.in_(["DORSET", "BCP"]))).all()
    if service is None or not areas:
        return 0
    fields = {
        "title": TITLE,
        "service_category_id": service.id,
        "estimated_annual_demand": 1400,
        "need": "Around 46,000 recorded crimes a year with an identifiable victim; national "
        "take-up suggests 1,200 to 1,600 victims a year would want a restorative process if "
        "offered consistently. Demand is highest in BCP; rural Dorset is under-referred.",
        "supply": "Two contracted providers with the Restorative Service Quality Mark, a "
        "probation-led offer for people on licence, and the youth justice service for under-18s.",
        "gaps": "Few self-referrals; limited evening availability; no offer for victims of "
        "domestic abuse where a specialist risk assessment says it is safe.",
        "risks": "Volunteer facilitator numbers are falling; referral pathways depend on a few "
        "police champions.",
        "recommendations": "Re-tender a single countywide service from April 2027 with evening "
        "availability, a self-referral route and a volunteer development programme.",
    }
    assessment = services.create_assessment(author or actor, fields, [a.id for a in areas])
    db.session.flush()
    services.add_consultation(
        author or actor,
        assessment,
        {
            "stakeholders": "Victims' forum (12 members)",
            "method": "Focus group",
            "held_on": date(2026, 3, 10),
            "what_they_said": "Victims wanted to be offered RJ earlier and at times that fit work.",
            "what_changed": "The recommendation asks for evening availability.",
        },
    )
    services.add_consultation(
        author or actor,
        assessment,
        {
            "stakeholders": "Providers and police referral champions",
            "method": "Workshop",
            "held_on": date(2026, 4, 22),
            "what_they_said": "Referral forms are duplicated across police and probation.",
            "what_changed": "A single referral route is now a gap to close.",
        },
    )
    services.publish(author or actor, assessment, "First version, for the May board")
    fields["risks"] += " The Ministry of Justice grant for 2027/28 is not yet confirmed."
    services.update_assessment(
        author or actor, assessment, fields, [a.id for a in areas], assessment.version
    )
    return 1


# --- tenders: one completed cycle and one in evaluation ------------------------------------


def _provider_user(org_name: str):
    from pam.auth.models import Role
    from pam.providers.models import Organisation

    org = db.session.scalar(select(Organisation).where(Organisation.name == org_name))
    if org is None:
        return None
    user = db.session.scalar(
        select(User).where(User.organisation_id == org.id, User.role == Role.PROVIDER)
    )
    return user or _ProviderStandIn(org)


class _ProviderStandIn:
    """Bids from providers with no demo login are made in their organisation's name."""

    def __init__(self, organisation):
        self.id = None
        self.organisation_id = organisation.id
        self.is_provider = True

    def audit_label(self) -> str:
        return "demo data loader (for a provider)"


def load_tenders(actor, today: date) -> int:
    from datetime import UTC, datetime, time, timedelta
    from decimal import Decimal

    from pam.decisions import services as decision_services
    from pam.decisions.models import BudgetLine
    from pam.market import tender_services as tenders
    from pam.market.models import Tender

    if db.session.scalar(select(Tender.id).where(Tender.reference == "OPCC-T-2026-01")):
        return 0
    sarah = db.session.scalar(select(User).where(User.email == "officer@opcc.example.org"))
    tom = db.session.scalar(select(User).where(User.email == "tom.reeve@opcc.example.org"))
    cfo = db.session.scalar(select(User).where(User.email == "cfo@opcc.example.org"))
    assessment = db.session.scalar(select(MarketAssessment).where(MarketAssessment.title == TITLE))
    service = db.session.scalar(select(ServiceCategory).where(ServiceCategory.code == "RJ-ADULT"))
    victims = db.session.scalar(select(ServiceCategory).where(ServiceCategory.code == "VICTIMS"))
    areas = [a.id for a in db.session.scalars(select(Area).where(Area.code.in_(["DORSET", "BCP"])))]
    if not all((sarah, tom, cfo, service, victims)):
        return 0

    def at(day: date) -> datetime:
        return datetime.combine(day, time(12), tzinfo=UTC)

    def tender(reference, title, category, value, opened_on, closes_on):
        made = tenders.create_tender(
            sarah,
            {
                "reference": reference,
                "title": title,
                "service_category_id": category.id,
                "estimated_value": Decimal(value),
                "procedure": "open",
                "market_assessment_id": assessment.id
                if assessment and category is service
                else None,
                "clarification_deadline": at(closes_on - timedelta(days=14)),
                "submission_deadline": at(closes_on),
                "scale_max": 5,
                "description": f"{title}. See the published market assessment for the need.",
            },
            areas,
            [
                ("Quality of service and safeguarding", 50, ""),
                ("Partnership and referrals", 20, ""),
                ("Price", 20, ""),
                ("Social value", 10, ""),
            ],
        )
        tenders.publish_tender(sarah, made, opened_on, at(opened_on))
        return made

    def bids(made, offers, when):
        placed = []
        for org_name, price, quality in offers:
            bidder = _provider_user(org_name)
            if bidder is not None:
                answers = {
                    c.id: f"{org_name}: {quality} answer on {c.name.lower()}."
                    for c in made.criteria
                }
                placed.append(tenders.submit_bid(bidder, made, Decimal(price), answers, when))
        return placed

    def score(made, evaluator_user, marks, submit=True):
        evaluator = next(e for e in made.evaluators if e.user_id == evaluator_user.id)
        tenders.declare_interest(evaluator_user, evaluator, False, "")
        for placed, bid_marks in zip(made.bids, marks, strict=False):
            for criterion, mark in zip(made.criteria, bid_marks, strict=True):
                tenders.record_score(
                    evaluator_user,
                    evaluator,
                    placed,
                    criterion,
                    mark,
                    "Evidence in the answer; see moderation notes",
                )
        if submit:
            tenders.submit_scores(evaluator_user, evaluator)

    # 1. A completed cycle: assessment -> tender -> two bids -> evaluation -> award -> contract.
    first = tender(
        "OPCC-T-2026-01",
        "Countywide restorative justice service from April 2027",
        service,
        540000,
        date(2026, 5, 18),
        date(2026, 7, 10),
    )
    bids(
        first,
        [
            ("Purbeck Community Mediation", 520000, "strong"),
            ("Restore Wessex Ltd", 498000, "adequate"),
        ],
        at(date(2026, 7, 8)),
    )
    for user in (sarah, tom):
        tenders.assign_evaluator(sarah, first, user)
    db.session.flush()
    tenders.open_bids(sarah, first, at(date(2026, 7, 10)) + timedelta(hours=1))
    score(first, sarah, [(5, 4, 3, 4), (3, 3, 4, 2)])
    score(first, tom, [(4, 4, 3, 3), (3, 2, 4, 3)])
    tenders.moderate(
        sarah, first, first.bids[0], first.criteria[0], 5, "Safeguarding plan best seen"
    )
    ranked = tenders.ranking(first)
    top = ranked[0]
    line_2027 = db.session.scalar(
        select(BudgetLine.id).where(BudgetLine.year == "2027/28", BudgetLine.code == "MOJ-VICTIMS")
    )
    decision = decision_services.create_decision(
        sarah,
        {
            "title": f"Award {first.reference}: {first.title}",
            "decision_type": "contract_award",
            "provider_id": top.bid.provider_id,
            "tender_id": first.id,
            "summary": f"Award to {top.bid.provider.name}, ranked first ({top.weighted} of 100)",
            "rationale": "Highest weighted score after moderation; within the estimated value",
            "options_considered": "; ".join(
                f"{r.bid.provider.name} ({r.weighted})" for r in ranked
            ),
            "conflicts_declared": "Both evaluators declared no conflict",
            "is_public_interest": True,
            "terms": {
                "contract_reference": first.reference,
                "service_category_id": service.id,
                "area_ids": areas,
                "start_on": "2027-04-01",
                "end_on": "2030-03-31",
                "annual_value": "173333.33",
                "max_extension_months": "24",
            },
        },
        [(line_2027, top.bid.price)] if line_2027 else [],
        date(2026, 8, 3),
    )
    decision_services.submit_decision(sarah, decision, "Recommended by the evaluation panel")
    decision_services.decide(
        cfo, decision, "approved", "Approved at the August board", date(2026, 8, 12)
    )

    # 2. A tender in evaluation: bids opened, one evaluator has scored, one has not declared.
    second = tender(
        "OPCC-T-2026-02",
        "Out-of-hours support for victims of crime",
        victims,
        120000,
        date(2026, 9, 21),
        date(2026, 11, 6),
    )
    bids(
        second,
        [
            ("Shoreline Victim Care CIC", 112000, "strong"),
            ("Harbour Light Advocacy", 118500, "strong"),
        ],
        at(date(2026, 11, 4)),
    )
    for user in (sarah, tom):
        tenders.assign_evaluator(sarah, second, user)
    db.session.flush()
    if today > date(2026, 11, 6):
        tenders.open_bids(sarah, second, at(date(2026, 11, 6)) + timedelta(hours=2))
        score(second, sarah, [(4, 4, 4, 3), (4, 3, 3, 4)], submit=False)
    return 2
