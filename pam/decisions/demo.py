"""Demo budgets and decisions: three years of budget lines and decisions at each stage.

One approved budget allocation, an approved grant (with the contract it created), a grant
awaiting a decision (approving it in the demo creates its contract), and a draft
extension. Idempotent by budget code and title.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from pam.auth.models import User
from pam.contracts.models import Contract
from pam.decisions import services
from pam.decisions.models import BudgetLine, FundingDecision
from pam.extensions import db
from pam.providers.models import Area, Organisation, ServiceCategory

LINES = [
    ("MOJ-VICTIMS", "Victims' services", "Ministry of Justice victims' grant", 1_150_000),
    ("PCC-CORE", "Commissioning: core", "PCC core budget", 420_000),
    ("HO-SV", "Sexual violence support", "Home Office", 210_000),
    (
        "RJ-PARTNER",
        "Restorative justice (co-commissioned)",
        "Dorset Council and BCP Council",
        90_000,
    ),
]


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def load_decisions(actor, today: date) -> int:
    added = 0
    for year in ("2024/25", "2025/26", "2026/27", "2027/28"):
        for code, name, funder, allocation in LINES:
            exists = db.session.scalar(
                select(BudgetLine).where(BudgetLine.year == year, BudgetLine.code == code)
            )
            if exists is None:
                fields = {
                    "year": year,
                    "code": code,
                    "name": name,
                    "funder": funder,
                    "allocation": Decimal(allocation),
                }
                services.save_budget_line(actor, None, fields)
                added += 1
    db.session.flush()
    sarah, tom = _user("officer@opcc.example.org"), _user("tom.reeve@opcc.example.org")
    cfo = _user("cfo@opcc.example.org")

    def line(year: str, code: str) -> int:
        return db.session.scalar(
            select(BudgetLine.id).where(BudgetLine.year == year, BudgetLine.code == code)
        )

    def missing(title: str) -> bool:
        return (
            db.session.scalar(select(FundingDecision.id).where(FundingDecision.title == title))
            is None
        )

    title = "Restorative justice volunteer training 2026/27"
    if missing(title):
        fields = {
            "title": title,
            "decision_type": "budget_allocation",
            "summary": "Allocate £18,000 for accredited facilitator training across providers",
            "rationale": "The RJ strategy commits to 30 newly accredited volunteer facilitators",
            "options_considered": "Fund centrally; ask each provider to fund from contracts",
            "conflicts_declared": "None declared",
            "is_public_interest": True,
        }
        decision = services.create_decision(
            sarah or actor,
            fields,
            [(line("2026/27", "RJ-PARTNER"), Decimal(18000))],
            date(2026, 4, 20),
        )
        services.submit_decision(sarah or actor, decision, "For the April budget meeting")
        services.decide(cfo or actor, decision, "approved", "Agreed", date(2026, 4, 28))
        added += 1
    title = "Winter outreach for women victims in rural Dorset"
    if missing(title):
        added += _winter_outreach(actor, tom, title, line)
    title = "Hate crime advocacy in Bournemouth, Christchurch and Poole 2026/27"
    if missing(title):
        added += _hate_crime_advocacy(actor, tom, cfo, title, line)
    title = "Extend Neighbourhood Justice Panels (BCP) by 12 months"
    panels = db.session.scalar(select(Contract).where(Contract.reference == "OPCC-NJP-2024-02"))
    if missing(title) and panels is not None:
        fields = {
            "title": title,
            "decision_type": "extension",
            "contract_id": panels.id,
            "summary": "Take up the 12-month extension option",
            "rationale": "Panels are meeting their targets and the pilot evaluation is due",
            "terms": {"new_end_on": "2028-03-31"},
        }
        services.create_decision(
            tom or actor, fields, [(line("2026/27", "PCC-CORE"), Decimal(36000))], today
        )
        added += 1
    return added


def _grant_fields(title: str, provider_name: str, area_code: str, terms: dict,
                  **texts: str) -> dict | None:  # fmt: skip
    """A victims' services grant to a demo provider in one area (None if the reference
    data it names is not loaded)."""
    provider = db.session.scalar(select(Organisation).where(Organisation.name == provider_name))
    service = db.session.scalar(select(ServiceCategory).where(ServiceCategory.code == "VICTIMS"))
    area = db.session.scalar(select(Area).where(Area.code == area_code))
    if provider is None or service is None or area is None:
        return None
    return {
        "title": title,
        "decision_type": "grant",
        "provider_id": provider.id,
        "conflicts_declared": "None declared",
        **texts,
        "terms": {**terms, "service_category_id": service.id, "area_ids": [area.id]},
    }


def _winter_outreach(actor, tom, title: str, line) -> int:
    """A grant submitted and awaiting a decision: approving it creates its contract."""
    fields = _grant_fields(
        title,
        "Stour Valley Women's Centre",
        "DORSET",
        {"contract_reference": "OPCC-VS-2026-04", "start_on": "2026-12-01",
         "end_on": "2027-11-30", "annual_value": "24000"},
        summary="A one-year grant for outreach surgeries in market towns over the winter",
        rationale="Referrals from rural Dorset are a third of the county average",
        options_considered="Grant to the local specialist; vary the hub contract; do nothing",
    )  # fmt: skip
    if fields is None:
        return 0
    amounts = [
        (line("2026/27", "MOJ-VICTIMS"), Decimal(8000)),
        (line("2027/28", "MOJ-VICTIMS"), Decimal(16000)),
    ]
    decision = services.create_decision(tom or actor, fields, amounts, date(2026, 11, 2))
    services.submit_decision(tom or actor, decision, "Urgent: winter starts in December")
    return 1


def _hate_crime_advocacy(actor, tom, cfo, title: str, line) -> int:
    """A grant approved in March 2026: it created its contract, and it is published (in
    the 360Giving file among others) because that contract is above the threshold."""
    fields = _grant_fields(
        title,
        "Harbour Light Advocacy",
        "BCP",
        {"contract_reference": "OPCC-VS-2026-03", "start_on": "2026-04-01",
         "end_on": "2027-03-31", "annual_value": "30000"},
        summary="A one-year grant for independent advocates supporting victims of hate crime",
        rationale="Hate crime reports in BCP rose by a fifth; few victims took up support",
        options_considered="Grant to the local specialist; add to the victims' hub contract",
    )  # fmt: skip
    if fields is None:
        return 0
    amounts = [(line("2026/27", "MOJ-VICTIMS"), Decimal(30000))]
    decision = services.create_decision(tom or actor, fields, amounts, date(2026, 3, 2))
    services.submit_decision(tom or actor, decision, "For the March decision meeting")
    services.decide(cfo or actor, decision, "approved", "Agreed", date(2026, 3, 16))
    return 1
