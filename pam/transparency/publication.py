"""What the OPCC publishes, chosen in one place: the transparency page, its CSV, the API's
published decisions and the open-data files (OCDS, 360Giving) all read these queries, so
nothing appears in one that the others withhold.

- decisions of significant public interest, once decided (approved or rejected);
- tenders, once published, estimated at or above the threshold;
- contracts at or above the threshold;
- grants: approved grant decisions that are published as decisions or whose contract is.

The threshold is PAM_TRANSPARENCY_THRESHOLD (the Specified Information Order uses £10,000).
Never published: drafts and pending decisions, bid content, people's names and contact
details (decisions say when, not who).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, or_, select

from pam.contracts.models import Contract
from pam.decisions.models import DecisionStatus, DecisionType, FundingDecision
from pam.extensions import db
from pam.market.models import Tender, TenderStatus
from pam.providers.models import Organisation

DECIDED = (DecisionStatus.APPROVED, DecisionStatus.REJECTED)


def threshold() -> Decimal:
    return Decimal(str(current_app.config["PAM_TRANSPARENCY_THRESHOLD"]))


def decisions() -> list[FundingDecision]:
    """Decided decisions of significant public interest, newest first."""
    return list(
        db.session.scalars(
            select(FundingDecision)
            .where(
                FundingDecision.is_public_interest.is_(True),
                FundingDecision.status.in_(DECIDED),
            )
            .order_by(FundingDecision.decided_on.desc(), FundingDecision.id.desc())
        )
    )


def _tenders_query() -> Select:
    return select(Tender).where(
        Tender.status != TenderStatus.DRAFT, Tender.estimated_value >= threshold()
    )


def tenders(*options: Any) -> list[Tender]:
    """Published tenders at or above the threshold, closing latest first (options:
    what to load with them)."""
    query = _tenders_query().options(*options)
    return list(
        db.session.scalars(query.order_by(Tender.submission_deadline.desc(), Tender.id.desc()))
    )


def published_tender_ids() -> set[int]:
    return set(db.session.scalars(_tenders_query().with_only_columns(Tender.id)))


def _contracts_query() -> Select:
    return select(Contract).where(Contract.total_value >= threshold())


def contracts(*options: Any) -> list[Contract]:
    """Contracts at or above the threshold, by reference (options: what to load too)."""
    query = _contracts_query().options(*options).order_by(Contract.reference)
    return list(db.session.scalars(query))


def grants() -> list[FundingDecision]:
    """Approved grant decisions published as decisions or through their contract, oldest
    first (the order a funder's 360Giving file usually takes)."""
    published_contract_ids = _contracts_query().with_only_columns(Contract.id)
    return list(
        db.session.scalars(
            select(FundingDecision)
            .where(
                FundingDecision.decision_type == DecisionType.GRANT,
                FundingDecision.status == DecisionStatus.APPROVED,
                FundingDecision.decided_on.is_not(None),
                or_(
                    FundingDecision.is_public_interest.is_(True),
                    FundingDecision.contract_id.in_(published_contract_ids),
                ),
            )
            .order_by(FundingDecision.decided_on, FundingDecision.id)
        )
    )


def organisation_identifier(organisation: Organisation, local_prefix: str) -> dict[str, str]:
    """An organisation's identifier in the org-id.guide schemes both standards use: its
    Charity Commission number (GB-CHC), else its Companies House number (GB-COH), else
    the publisher's own prefix and PAM's id for it."""
    if organisation.charity_number:
        return {"scheme": "GB-CHC", "id": organisation.charity_number.strip()}
    if organisation.company_number:
        return {"scheme": "GB-COH", "id": organisation.company_number.strip().upper()}
    return {"scheme": local_prefix, "id": f"org-{organisation.id}"}


def org_id(organisation: Organisation, local_prefix: str) -> str:
    identifier = organisation_identifier(organisation, local_prefix)
    return f"{identifier['scheme']}-{identifier['id']}"
