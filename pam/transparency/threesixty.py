"""Grants in the 360Giving Data Standard (1.4), as a JSON package and as a spreadsheet.

A grant is an approved funding decision of type grant that is published (see
pam.transparency.publication). The spreadsheet is the standard's own flat layout: one row
per grant, one column per field, headed with the standard's field titles joined by colons
("Recipient Org:Identifier"), which is what 360Giving's tools read. Beneficiary locations
(a contract's areas, often several) are in the JSON only: the flat layout has one per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app

from pam.contracts.models import Contract
from pam.core.periods import as_utc
from pam.decisions.models import FundingDecision
from pam.exports.tabular import Sheet, to_xlsx
from pam.extensions import db
from pam.market.models import Procedure, Tender
from pam.transparency import publication

VERSION = "1.4"
CURRENCY = "GBP"
OPEN_CALLS = (Procedure.OPEN, Procedure.GRANT_ROUND)


def grant_prefix() -> str:
    return current_app.config["PAM_360GIVING_PREFIX"]


def funder_id() -> str:
    return current_app.config["PAM_ORGANISATION_ID"] or f"{grant_prefix()}-opcc"


def _months(start: date, end: date) -> int:
    """Whole months from the start to the day after the end (1 Apr to 31 Mar is 12)."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    return max(months - (1 if after.day < start.day else 0), 0)


def _recipient(decision: FundingDecision) -> dict[str, Any]:
    organisation = decision.provider
    recipient = {
        "id": publication.org_id(organisation, grant_prefix()),
        "name": organisation.name,
        "charityNumber": organisation.charity_number,
        "companyNumber": organisation.company_number,
        "postalCode": organisation.postcode,
        "addressCountry": "United Kingdom",
    }
    return {key: value for key, value in recipient.items() if value}


def grant(decision: FundingDecision, published_tenders: set[int]) -> dict[str, Any]:
    """One grant, in the standard's shape; its grant round only if that is published."""
    contract = db.session.get(Contract, decision.contract_id) if decision.contract_id else None
    tender = None
    if decision.tender_id in published_tenders:
        tender = db.session.get(Tender, decision.tender_id)
    found: dict[str, Any] = {
        "id": f"{grant_prefix()}-{decision.reference}",
        "title": decision.title,
        "description": decision.summary or decision.title,
        "currency": CURRENCY,
        "amountAwarded": float(decision.total),
        "awardDate": decision.decided_on.isoformat(),
        "recipientOrganization": [_recipient(decision)],
        "fundingOrganization": [
            {"id": funder_id(), "name": current_app.config["PAM_ORGANISATION_NAME"]}
        ],
        "dateModified": as_utc(decision.updated_at).replace(microsecond=0).isoformat(),
    }
    if contract is not None:
        found["plannedDates"] = [
            {
                "startDate": contract.start_on.isoformat(),
                "endDate": contract.end_on.isoformat(),
                "duration": _months(contract.start_on, contract.end_on),
            }
        ]
        if contract.areas:
            found["beneficiaryLocation"] = [
                {"name": area.name, "countryCode": "GB"} for area in contract.areas
            ]
    if tender is not None:
        found["grantProgramme"] = [{"code": tender.reference, "title": tender.title}]
        found["fromOpenCall"] = "Yes" if tender.procedure in OPEN_CALLS else "No"
    return found


def package() -> dict[str, Any]:
    published_tenders = publication.published_tender_ids()
    grants = [grant(decision, published_tenders) for decision in publication.grants()]
    return {"grants": grants, "version": VERSION}


# --- the spreadsheet ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str  # the standard's titles along the path, joined by ":"
    read: Callable[[dict[str, Any]], Any]
    fmt: str = ""


def _first(key: str, field: str) -> Callable[[dict[str, Any]], Any]:
    return lambda found: (found.get(key) or [{}])[0].get(field)


COLUMNS = [
    Column("Identifier", lambda g: g["id"]),
    Column("Title", lambda g: g["title"]),
    Column("Description", lambda g: g["description"]),
    Column("Currency", lambda g: g["currency"]),
    Column("Amount Awarded", lambda g: g["amountAwarded"], "money"),
    Column("Award Date", lambda g: g["awardDate"]),
    Column("Planned Dates:Start Date", _first("plannedDates", "startDate")),
    Column("Planned Dates:End Date", _first("plannedDates", "endDate")),
    Column("Planned Dates:Duration (months)", _first("plannedDates", "duration"), "count"),
    Column("Recipient Org:Identifier", _first("recipientOrganization", "id")),
    Column("Recipient Org:Name", _first("recipientOrganization", "name")),
    Column("Recipient Org:Charity Number", _first("recipientOrganization", "charityNumber")),
    Column("Recipient Org:Company Number", _first("recipientOrganization", "companyNumber")),
    Column("Recipient Org:Postal Code", _first("recipientOrganization", "postalCode")),
    Column("Recipient Org:Country", _first("recipientOrganization", "addressCountry")),
    Column("Funding Org:Identifier", _first("fundingOrganization", "id")),
    Column("Funding Org:Name", _first("fundingOrganization", "name")),
    Column("Grant Programme:Code", _first("grantProgramme", "code")),
    Column("Grant Programme:Title", _first("grantProgramme", "title")),
    Column("From An Open Call?", lambda g: g.get("fromOpenCall")),
    Column("Last Modified", lambda g: g["dateModified"]),
]


def spreadsheet() -> bytes:
    """The grants as the standard's flat spreadsheet (dates as ISO text, as 360Giving
    asks, so no spreadsheet program turns them into local formats)."""
    grants = package()["grants"]
    sheet = Sheet(
        "grants",
        [column.title for column in COLUMNS],
        [[column.read(found) for column in COLUMNS] for found in grants],
        formats=[column.fmt for column in COLUMNS],
    )
    name = current_app.config["PAM_ORGANISATION_NAME"]
    return to_xlsx([sheet], f"{name}: grants in the 360Giving Data Standard")
