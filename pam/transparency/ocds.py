"""Tenders, awards and contracts in the Open Contracting Data Standard (OCDS 1.1).

A contracting process is a published tender with the contracts awarded from it, or a
published contract that came from no published tender (a direct award, a grant, a
contract entered from paper). Each process has releases by stage, built from what is
published (pam.transparency.publication):

- `tender`: what is being bought, its procedure and timetable;
- `award`: the approved funding decision that awarded each contract, with the supplier;
- `contract`: each contract's term, value and variations (as amendments);
- `implementation`: the payments made under each contract, as transactions.

PAM keeps the current state of a process, not every past state, so a release shows its
stage as it stands now; its id carries a digest of its content, so when anything in a
stage changes it is a new release. The record of a process lists its releases and a
compiled release: the whole process as it stands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from pam.audit.models import AuditEvent
from pam.contracts.models import Contract, ContractStatus
from pam.core.periods import UK, as_utc, today_in_uk
from pam.decisions.models import DecisionStatus, FundingDecision
from pam.extensions import db
from pam.market.models import BidStatus, Procedure, Tender, TenderStatus
from pam.providers.models import Organisation
from pam.transparency import publication

VERSION = "1.1"
CURRENCY = "GBP"

TENDER_STATUS = {
    TenderStatus.PUBLISHED: "active",
    TenderStatus.AWARDED: "complete",
    TenderStatus.CANCELLED: "cancelled",
}
METHOD = {
    Procedure.OPEN: ("open", "Open procedure"),
    Procedure.RESTRICTED: ("selective", "Restricted procedure"),
    Procedure.GRANT_ROUND: ("open", "Grant round"),
    Procedure.DIRECT_AWARD: ("direct", "Direct award"),
}
# A mobilising contract is signed and in force; an ended one has come to a close, which
# OCDS calls terminated whether it ran its course or not.
CONTRACT_STATUS = {
    ContractStatus.MOBILISING: "active",
    ContractStatus.LIVE: "active",
    ContractStatus.ENDED: "terminated",
    ContractStatus.TERMINATED: "terminated",
}


# --- identifiers and small values ----------------------------------------------------------


def ocid_prefix() -> str:
    return current_app.config["PAM_OCDS_PREFIX"]


def buyer_id() -> str:
    return current_app.config["PAM_ORGANISATION_ID"] or f"{ocid_prefix()}-opcc"


def _value(amount: Decimal) -> dict[str, Any]:
    return {"amount": float(amount), "currency": CURRENCY}


def _start_of(day: date) -> str:
    return datetime.combine(day, time.min, UK).isoformat()


def _end_of(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), UK).isoformat()


def _moment(when: datetime) -> str:
    return as_utc(when).isoformat()


def _digest(content: dict[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- parties ---------------------------------------------------------------------------


def _buyer_identifier() -> dict[str, str] | None:
    """The OPCC's org-id (e.g. GB-GOR-PC0123) as scheme (GB-GOR) and id; None until
    PAM_ORGANISATION_ID gives one."""
    parts = current_app.config["PAM_ORGANISATION_ID"].split("-", 2)
    if len(parts) < 3:
        return None
    return {"scheme": "-".join(parts[:2]), "id": parts[2]}


def _buyer() -> dict[str, Any]:
    name = current_app.config["PAM_ORGANISATION_NAME"]
    party: dict[str, Any] = {"id": buyer_id(), "name": name}
    identifier = _buyer_identifier()
    if identifier:
        party["identifier"] = {**identifier, "legalName": name}
    return party


def _supplier(organisation: Organisation) -> dict[str, Any]:
    """A supplier party: its id is its org-id where it has a registered number (and then
    an identifier in that scheme), else one local to this publisher (and no identifier:
    an OCID prefix is not an organisation identifier scheme)."""
    identifier = publication.organisation_identifier(organisation, ocid_prefix())
    party: dict[str, Any] = {
        "id": publication.org_id(organisation, ocid_prefix()),
        "name": organisation.name,
    }
    if identifier["scheme"] != ocid_prefix():
        party["identifier"] = {**identifier, "legalName": organisation.name}
    address = {"postalCode": organisation.postcode, "countryName": "United Kingdom"}
    party["address"] = {key: value for key, value in address.items() if value}
    return party


def _reference(party: dict[str, Any]) -> dict[str, str]:
    return {"id": party["id"], "name": party["name"]}


def _parties(contracts: list[Contract], *, paying: bool) -> list[dict[str, Any]]:
    """The buyer and the contracts' suppliers, with the roles they play in one stage (a
    supplier is a payee only where its payments are: the implementation stage)."""
    buyer_roles = ["buyer", "procuringEntity"] + (["payer"] if paying else [])
    buyer = {**_buyer(), "roles": buyer_roles}
    suppliers: dict[str, dict[str, Any]] = {}
    for contract in contracts:
        party = suppliers.setdefault(
            publication.org_id(contract.provider, ocid_prefix()),
            {**_supplier(contract.provider), "roles": ["supplier"]},
        )
        if paying and _transactions(contract) and "payee" not in party["roles"]:
            party["roles"].append("payee")
    return [buyer, *suppliers.values()]


# --- the stages ------------------------------------------------------------------------


def _tender(tender: Tender) -> dict[str, Any]:
    method, details = METHOD[tender.procedure]
    section: dict[str, Any] = {
        "id": tender.reference,
        "title": tender.title,
        "description": tender.description or tender.title,
        "status": TENDER_STATUS[tender.status],
        "procuringEntity": _reference(_buyer()),
        "value": _value(tender.estimated_value),
        "procurementMethod": method,
        "procurementMethodDetails": details,
        "mainProcurementCategory": "services",
        "items": [
            {
                "id": "1",
                "description": tender.service_category.name,
                "quantity": 1,
            }
        ],
        "tenderPeriod": {"endDate": _moment(tender.submission_deadline)},
        "enquiryPeriod": {"endDate": _moment(tender.clarification_deadline)},
        "hasEnquiries": bool(tender.clarifications),
        "submissionMethod": ["electronicSubmission"],
    }
    if tender.published_on:
        section["tenderPeriod"]["startDate"] = _start_of(tender.published_on)
        section["enquiryPeriod"]["startDate"] = _start_of(tender.published_on)
    if tender.procedure is Procedure.DIRECT_AWARD and tender.direct_award_justification:
        section["procurementMethodRationale"] = tender.direct_award_justification
    if tender.award_on:
        section["awardPeriod"] = {"startDate": _start_of(tender.award_on)}
    if tender.status is TenderStatus.AWARDED:  # how many bid, once it is over (never who)
        section["numberOfTenderers"] = sum(
            1 for bid in tender.bids if bid.status is BidStatus.SUBMITTED
        )
    return section


def award_id(contract: Contract, decision: FundingDecision | None) -> str:
    return decision.reference if decision else f"{contract.reference}-award"


def _award(contract: Contract, decision: FundingDecision | None) -> dict[str, Any]:
    award: dict[str, Any] = {
        "id": award_id(contract, decision),
        "title": contract.title,
        "status": "active",
        "value": _value(contract.original_total_value),
        "suppliers": [_reference(_supplier(contract.provider))],
        "contractPeriod": {
            "startDate": _start_of(contract.start_on),
            "endDate": _end_of(contract.original_end_on),
        },
    }
    if decision is not None:
        award["description"] = decision.summary or decision.title
        if decision.decided_at:
            award["date"] = _moment(decision.decided_at)
    return award


def _transactions(contract: Contract) -> list[dict[str, Any]]:
    buyer, payee = _reference(_buyer()), _reference(_supplier(contract.provider))
    return [
        {
            "id": f"{contract.reference}-payment-{payment.id}",
            "date": _start_of(payment.paid_on),
            "value": _value(payment.amount),
            "payer": buyer,
            "payee": payee,
        }
        for payment in contract.payments
        if payment.paid_on is not None
    ]


def _contract(
    contract: Contract, decision: FundingDecision | None, *, with_payments: bool
) -> dict[str, Any]:
    period: dict[str, Any] = {
        "startDate": _start_of(contract.start_on),
        "endDate": _end_of(contract.end_on),
    }
    section: dict[str, Any] = {
        "id": contract.reference,
        "awardID": award_id(contract, decision),
        "title": contract.title,
        "description": contract.description or contract.title,
        "status": CONTRACT_STATUS[contract.status],
        "period": period,
        "value": _value(contract.total_value),
    }
    if contract.variations:
        section["amendments"] = [
            {
                "id": f"{contract.reference}-variation-{variation.id}",
                "date": _start_of(variation.approved_on),
                "rationale": variation.reason,
                "description": variation.description,
            }
            for variation in contract.variations
        ]
    if with_payments:
        section["implementation"] = {"transactions": _transactions(contract)}
    return section


# --- processes, releases and records ------------------------------------------------------


def _latest(dates: Iterable[str]) -> str:
    """The latest of ISO dates with offsets (compared as moments, not as text)."""
    return max(dates, key=datetime.fromisoformat)


@dataclass
class Process:
    """One contracting process: a published tender and its contracts, or a contract alone.

    `decisions` are the approved decisions that awarded the contracts, by id, and
    `tender_changed` when the tender last changed (its latest audit event)."""

    ocid: str
    tender: Tender | None
    contracts: list[Contract]
    decisions: dict[int, FundingDecision]
    tender_changed: datetime | None = None

    def decision(self, contract: Contract) -> FundingDecision | None:
        return self.decisions.get(contract.funding_decision_id)

    def _release(self, stage: str, tags: list[str], when: str, **content: Any) -> dict:
        """A release of one stage, naming the parties (and the roles) that stage refers
        to. Its id carries a digest of its date and content: a change is a new release."""
        named = [] if stage == "tender" else self.contracts
        paying = stage in ("implementation", "compiled")
        body = {
            "date": when,
            "parties": _parties(named, paying=paying),
            "buyer": _reference(_buyer()),
            **content,
        }
        return {
            "ocid": self.ocid,
            "id": f"{self.ocid}-{stage}-{_digest(body)}",
            "date": when,
            "tag": tags,
            "initiationType": "tender",
            "language": "en",
            **body,
        }

    def releases(self) -> list[dict[str, Any]]:
        found = []
        if self.tender is not None:
            cancelled = self.tender.status is TenderStatus.CANCELLED
            found.append(
                self._release(
                    "tender",
                    ["tenderCancellation"] if cancelled else ["tender"],
                    self._tender_date(),
                    tender=_tender(self.tender),
                )
            )
        if self.contracts:
            found.append(
                self._release(
                    "award",
                    ["award"],
                    self._award_date(),
                    awards=[_award(c, self.decision(c)) for c in self.contracts],
                )
            )
            found.append(
                self._release(
                    "contract",
                    ["contract", "contractAmendment"] if self._amended() else ["contract"],
                    self._contract_date(),
                    contracts=[
                        _contract(c, self.decision(c), with_payments=False) for c in self.contracts
                    ],
                )
            )
            if any(_transactions(c) for c in self.contracts):
                found.append(
                    self._release(
                        "implementation",
                        ["implementation"],
                        self._payment_date(),
                        contracts=[
                            _contract(c, self.decision(c), with_payments=True)
                            for c in self.contracts
                        ],
                    )
                )
        return found

    def compiled(self, releases: list[dict[str, Any]]) -> dict[str, Any]:
        """The process as it stands: every stage's sections in one release."""
        content: dict[str, Any] = {}
        if self.tender is not None:
            content["tender"] = _tender(self.tender)
        if self.contracts:
            content["awards"] = [_award(c, self.decision(c)) for c in self.contracts]
            content["contracts"] = [
                _contract(c, self.decision(c), with_payments=True) for c in self.contracts
            ]
        latest = _latest(release["date"] for release in releases)
        return self._release("compiled", ["compiled"], latest, **content)

    def _amended(self) -> bool:
        return any(contract.variations for contract in self.contracts)

    def _tender_date(self) -> str:
        """When it was published or, if later, last changed (awarded, cancelled...)."""
        dates = [_moment(self.tender.created_at)]
        if self.tender.published_on:
            dates.append(_start_of(self.tender.published_on))
        if self.tender_changed:
            dates.append(_moment(self.tender_changed))
        return _latest(dates)

    def _award_date(self) -> str:
        decided = [self.decision(c) for c in self.contracts]
        dates = [_moment(d.decided_at) for d in decided if d is not None and d.decided_at]
        if dates:
            return _latest(dates)
        return _latest(_moment(c.created_at) for c in self.contracts)  # entered already let

    def _contract_date(self) -> str:
        """When a contract was last changed (its status, a variation, its details)."""
        return _latest(
            _moment(max(as_utc(c.created_at), as_utc(c.updated_at or c.created_at)))
            for c in self.contracts
        )

    def _payment_date(self) -> str:
        return _latest(t["date"] for c in self.contracts for t in _transactions(c))


def processes() -> list[Process]:
    """Every published contracting process: each published tender with the published
    contracts awarded from it, then each published contract from no published tender.
    Everything the releases read is loaded here, in a fixed number of queries."""
    contracts = publication.contracts(
        selectinload(Contract.provider),
        selectinload(Contract.payments),
        selectinload(Contract.variations),
    )
    tenders = publication.tenders(
        selectinload(Tender.bids),
        selectinload(Tender.clarifications),
        selectinload(Tender.service_category),
    )
    decisions = _awarding_decisions(contracts)
    changed = _last_changed("tenders", [tender.id for tender in tenders])
    by_tender: dict[int, list[Contract]] = {}
    for contract in contracts:
        if contract.tender_id is not None:
            by_tender.setdefault(contract.tender_id, []).append(contract)
    found = []
    for tender in sorted(tenders, key=lambda t: t.reference):
        found.append(
            Process(
                f"{ocid_prefix()}-{tender.reference}",
                tender,
                by_tender.pop(tender.id, []),
                decisions,
                changed.get(str(tender.id)),
            )
        )
    for contract in contracts:
        if contract.tender_id is None or contract.tender_id in by_tender:
            found.append(
                Process(f"{ocid_prefix()}-{contract.reference}", None, [contract], decisions)
            )
    return found


def _awarding_decisions(contracts: list[Contract]) -> dict[int, FundingDecision]:
    ids = {c.funding_decision_id for c in contracts if c.funding_decision_id is not None}
    if not ids:
        return {}
    found = db.session.scalars(
        select(FundingDecision).where(
            FundingDecision.id.in_(ids), FundingDecision.status == DecisionStatus.APPROVED
        )
    )
    return {decision.id: decision for decision in found}


def _last_changed(record_type: str, ids: list[int]) -> dict[str, datetime]:
    """When each record last changed, from the audit trail (one query)."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.record_id, func.max(AuditEvent.occurred_at))
        .where(AuditEvent.record_type == record_type, AuditEvent.record_id.in_(map(str, ids)))
        .group_by(AuditEvent.record_id)
    )
    return dict(rows.tuples().all())


def _publisher() -> dict[str, str]:
    publisher = {"name": current_app.config["PAM_ORGANISATION_NAME"]}
    identifier = _buyer_identifier()
    if identifier:
        publisher |= {"scheme": identifier["scheme"], "uid": identifier["id"]}
    return publisher


def _package(uri: str, published: str, key: str, items: Iterable[dict]) -> dict[str, Any]:
    package: dict[str, Any] = {
        "uri": uri,
        "version": VERSION,
        "publishedDate": published,
        "publisher": _publisher(),
        key: list(items),
    }
    for field, setting in (
        ("license", "PAM_OPEN_DATA_LICENCE"),
        ("publicationPolicy", "PAM_OPEN_DATA_POLICY_URL"),
    ):
        if current_app.config[setting]:
            package[field] = current_app.config[setting]
    return package


def _published_date(releases: list[dict[str, Any]]) -> str:
    """When the package last changed: its latest release (so a package made on demand
    keeps its date until something in it changes)."""
    if not releases:
        return _start_of(today_in_uk())
    return _latest(release["date"] for release in releases)


def release_package(uri: str) -> dict[str, Any]:
    releases = [release for process in processes() for release in process.releases()]
    return _package(uri, _published_date(releases), "releases", releases)


def record_package(uri: str) -> dict[str, Any]:
    records, every_release = [], []
    for process in processes():
        releases = process.releases()
        if not releases:
            continue
        every_release += releases
        records.append(
            {
                "ocid": process.ocid,
                "releases": releases,
                "compiledRelease": process.compiled(releases),
            }
        )
    return _package(uri, _published_date(every_release), "records", records)
