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
