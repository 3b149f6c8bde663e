"""What the OPCC publishes, with no sign-in: decisions of significant public interest once
decided, and contracts (tenders, when they arrive) above the threshold (the Specified
Information Order uses £10,000; PAM_TRANSPARENCY_THRESHOLD sets it).

Tenders appear once published, with what is bought and when bids close.
What may appear is chosen here, column by column, from records that are published by
their nature: never a draft or pending decision, never bid content, never a person's name
or contact details (decisions say when, not who).
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy import select

from pam.contracts.models import Contract
from pam.decisions.models import DecisionStatus, FundingDecision
from pam.exports.tabular import Sheet, to_csv
from pam.extensions import db
from pam.market.models import Tender, TenderStatus

bp = Blueprint("transparency", __name__)

DECIDED = (DecisionStatus.APPROVED, DecisionStatus.REJECTED)


def published_decisions() -> list[dict]:
    decisions = db.session.scalars(
        select(FundingDecision)
        .where(FundingDecision.is_public_interest.is_(True), FundingDecision.status.in_(DECIDED))
        .order_by(FundingDecision.decided_on.desc(), FundingDecision.id.desc())
    ).all()
    return [
        {
            "reference": d.reference,
            "title": d.title,
            "type": d.decision_type.label,
            "outcome": d.status.label,
            "decided_on": d.decided_on,
            "value": d.total,
            "provider": d.provider.name if d.provider else "",
            "summary": d.summary,
        }
        for d in decisions
    ]


def published_contracts(threshold: Decimal) -> list[dict]:
    contracts = db.session.scalars(
        select(Contract).where(Contract.total_value >= threshold).order_by(Contract.reference)
    ).all()
    return [
        {
            "reference": c.reference,
            "title": c.title,
            "provider": c.provider.name,
            "service": c.service_category.name,
            "start_on": c.start_on,
            "end_on": c.end_on,
            "value": c.total_value,
            "status": c.status.label,
        }
        for c in contracts
    ]


def published_tenders(threshold: Decimal) -> list[dict]:
    """Published tenders above the threshold: what is being bought and when, never a bid."""
    tenders = db.session.scalars(
        select(Tender)
        .where(Tender.status != TenderStatus.DRAFT, Tender.estimated_value >= threshold)
        .order_by(Tender.submission_deadline.desc())
    ).all()
    return [
        {
            "reference": t.reference,
            "title": t.title,
            "procedure": t.procedure.label,
            "value": t.estimated_value,
            "closes": t.submission_deadline,
            "status": t.status.label,
        }
        for t in tenders
    ]


def _threshold() -> Decimal:
    return Decimal(str(current_app.config["PAM_TRANSPARENCY_THRESHOLD"]))


@bp.get("/transparency")
def index():
    threshold = _threshold()
    return render_template(
        "transparency/index.html",
        decisions=published_decisions(),
        contracts=published_contracts(threshold),
        tenders=published_tenders(threshold),
        threshold=threshold,
    )


@bp.get("/transparency.csv")
def download():
    """The same lists as one CSV (public: not audited per download, like the page)."""
    rows = [
        [
            "Decision",
            d["reference"],
            d["title"],
            d["provider"],
            d["value"],
            d["decided_on"],
            d["outcome"],
        ]
        for d in published_decisions()
    ]
    rows += [
        ["Tender", t["reference"], t["title"], "", t["value"], t["closes"].date(), t["status"]]
        for t in published_tenders(_threshold())
    ]
    rows += [["Contract", c["reference"], c["title"], c["provider"], c["value"], c["start_on"],
              c["status"]] for c in published_contracts(_threshold())]  # fmt: skip
    sheet = Sheet(
        "Transparency",
        ["Kind", "Reference", "Title", "Provider", "Value (£)", "Date", "Status"],
        rows,
    )
    response = Response(to_csv(sheet), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename="opcc-transparency.csv")
    return response
