"""Demo contracts: a believable portfolio of about twenty across the demo providers.

Loaded by pam.demo after the organisations and users. Idempotent: a contract whose
reference exists is left alone. Compliance expiry dates are set relative to today, so the
register always shows a few items expiring and one expired, however late the demo is run.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from pam.auth.models import User
from pam.contracts import services
from pam.contracts.models import Contract, ContractStatus
from pam.core.periods import FinancialYear
from pam.extensions import db
from pam.providers.models import Area, Organisation, ServiceCategory

PURBECK = "Purbeck Community Mediation"
SHORELINE = "Shoreline Victim Care CIC"
YJS = "Dorset Combined Youth Justice Service"
PROBATION = "Probation Service, Dorset Delivery Unit"
HARBOUR = "Harbour Light Advocacy"
RESTORE = "Restore Wessex Ltd"
JURASSIC = "Jurassic Coast Neighbourhood Justice Network"
STOUR = "Stour Valley Women's Centre"
SARAH, TOM = "officer@opcc.example.org", "tom.reeve@opcc.example.org"
BOTH = ("DORSET", "BCP")

# reference, title, provider, service, areas, start, end, annual value, status,
# extension months allowed, manager
CONTRACTS = [
    ("OPCC-RJ-2024-01", "Restorative justice service for adult victims (Dorset)", PURBECK,
     "RJ-ADULT", ("DORSET",), date(2024, 4, 1), date(2027, 3, 31), 62000, "live", 24, SARAH),
    ("OPCC-RJ-2024-02", "Restorative justice service for adult victims (BCP)", RESTORE,
     "RJ-ADULT", ("BCP",), date(2024, 4, 1), date(2027, 3, 31), 58000, "live", 24, SARAH),
    ("OPCC-RJ-2024-03", "Restorative justice in youth justice", YJS,
     "RJ-YOUTH", BOTH, date(2024, 4, 1), date(2027, 3, 31), 45000, "live", 12, TOM),
    ("OPCC-RJ-2024-04", "Restorative approaches with people on probation", PROBATION,
     "RJ-ADULT", BOTH, date(2024, 4, 1), date(2026, 3, 31), 30000, "ended", 0, TOM),
    ("OPCC-NJP-2024-01", "Neighbourhood Justice Panels (Dorset)", JURASSIC,
     "NJP", ("DORSET",), date(2024, 4, 1), date(2027, 3, 31), 38000, "live", 12, SARAH),
    ("OPCC-NJP-2024-02", "Neighbourhood Justice Panels (BCP)", PURBECK,
     "NJP", ("BCP",), date(2024, 4, 1), date(2027, 3, 31), 36000, "live", 12, SARAH),
    ("OPCC-MED-2024-01", "Community mediation service", PURBECK,
     "MEDIATION", ("DORSET",), date(2024, 4, 1), date(2027, 3, 31), 41000, "live", 24, TOM),
    ("OPCC-MED-2024-02", "Neighbour dispute mediation (BCP)", RESTORE,
     "MEDIATION", ("BCP",), date(2024, 7, 1), date(2027, 6, 30), 27500, "live", 12, TOM),
    ("OPCC-VS-2024-01", "Victim care and advocacy hub", SHORELINE,
     "VICTIMS", BOTH, date(2024, 4, 1), date(2028, 3, 31), 240000, "live", 24, SARAH),
    ("OPCC-VS-2024-02", "Cope and recover support for young victims", SHORELINE,
     "VICTIMS", ("BCP",), date(2024, 4, 1), date(2027, 3, 31), 52000, "live", 12, SARAH),
    ("OPCC-VS-2024-03", "Victims' support in rural Dorset", STOUR,
     "VICTIMS", ("DORSET",), date(2024, 4, 1), date(2027, 3, 31), 34000, "live", 12, TOM),
    ("OPCC-ISVA-2024-01", "Independent sexual violence advisers", HARBOUR,
     "ISVA", BOTH, date(2024, 4, 1), date(2028, 3, 31), 185000, "live", 24, SARAH),
    ("OPCC-DA-2024-01", "Domestic abuse advocacy (IDVA)", HARBOUR,
     "DA", ("BCP",), date(2024, 4, 1), date(2027, 3, 31), 96000, "live", 12, TOM),
    ("OPCC-DA-2024-02", "Domestic abuse support for women", STOUR,
     "DA", ("DORSET",), date(2024, 4, 1), date(2027, 3, 31), 71000, "live", 12, TOM),
    ("OPCC-RJ-2023-01", "Restorative justice pilot in prisons", RESTORE,
     "RJ-ADULT", BOTH, date(2023, 4, 1), date(2025, 3, 31), 25000, "ended", 0, SARAH),
    ("OPCC-VS-2023-01", "Hate crime victim advocacy", SHORELINE,
     "VICTIMS", BOTH, date(2023, 10, 1), date(2025, 9, 30), 30000, "terminated", 0, SARAH),
    ("OPCC-RJ-2025-01", "Restorative justice volunteer facilitator programme", PURBECK,
     "RJ-ADULT", BOTH, date(2025, 4, 1), date(2028, 3, 31), 24000, "live", 12, SARAH),
    ("OPCC-YJ-2025-01", "Referral order panel volunteers", YJS,
     "RJ-YOUTH", BOTH, date(2025, 4, 1), date(2027, 3, 31), 18000, "live", 0, TOM),
    ("OPCC-NJP-2025-01", "Neighbourhood Justice Panel coordinator (rural)", JURASSIC,
     "NJP", ("DORSET",), date(2025, 10, 1), date(2027, 9, 30), 22000, "live", 12, TOM),
    ("OPCC-VS-2027-01", "Victims' services hub (recommissioned)", SHORELINE,
     "VICTIMS", BOTH, date(2027, 4, 1), date(2031, 3, 31), 250000, "mobilising", 24, SARAH),
]  # fmt: skip


def _by(model, column, value):
    return db.session.scalar(select(model).where(column == value))


def _term_years(start: date, end: date) -> int:
    return max(1, round((end - start).days / 365.25))


def load_contracts(actor, today: date) -> int:
    """Add whatever demo contracts are missing; returns how many were added."""
    created = 0
    for spec in CONTRACTS:
        reference, title, provider, service, areas, start, end, annual, status, ext, manager = spec
        if _by(Contract, Contract.reference, reference) is not None:
            continue
        annual_value = Decimal(annual)
        contract = services.create_contract(
            actor,
            {
                "reference": reference,
                "title": title,
                "provider_id": _by(Organisation, Organisation.name, provider).id,
                "service_category_id": _by(ServiceCategory, ServiceCategory.code, service).id,
                "contract_manager_id": _by(User, User.email, manager).id,
                "start_on": start,
                "end_on": end,
                "total_value": annual_value * _term_years(start, end),
                "annual_value": annual_value,
                "status": status,
                "extension_options": f"Up to {ext} months" if ext else "",
                "max_extension_months": ext,
            },
            [_by(Area, Area.code, code).id for code in areas],
        )
        db.session.flush()
        _add_payments(actor, contract, today)
        _add_compliance(actor, contract, today, created)
        created += 1
    _add_history(actor)
    return created


def _add_payments(actor, contract: Contract, today: date) -> None:
    """Quarterly instalments in advance for each financial year of the term."""
    year = FinancialYear.containing(contract.start_on)
    instalment = (contract.annual_value / 4).quantize(Decimal("0.01"))
    while year.starts_on <= contract.end_on:
        for quarter in year.quarters():
            due = quarter.starts_on + timedelta(days=14)
            if quarter.starts_on < contract.start_on or quarter.starts_on > contract.end_on:
                continue
            payment = services.add_payment(
                actor,
                contract,
                {"due_on": due, "amount": instalment, "description": f"{quarter.part} {year}"},
            )
            stopped = contract.status == ContractStatus.TERMINATED and due > date(2025, 6, 30)
            if due < today and not stopped:
                services.mark_payment_paid(actor, payment, due + timedelta(days=9))
        year = year.next()


def _add_compliance(actor, contract: Contract, today: date, index: int) -> None:
    """The usual four items; every sixth contract has one expiring, one in ten expired."""
    items = [
        ("insurance", "Public liability £5m, employer's liability £10m", 200 + index * 11),
        ("safeguarding_policy", "Annual review of safeguarding policy", 300 + index * 7),
        ("dbs_checks", "Enhanced DBS for all practitioners", 400),
        ("data_sharing_agreement", "Police referral data sharing agreement", 500),
    ]
    if index % 6 == 1:
        items[0] = (items[0][0], items[0][1], 25)
    if index % 10 == 3:
        items[1] = (items[1][0], items[1][1], -12)
    evidence = b"%PDF-1.4\n% demo evidence\n"
    for kind, description, days in items:
        services.save_compliance_item(
            actor,
            contract,
            None,
            {
                "kind": kind,
                "description": description,
                "expires_on": today + timedelta(days=days),
                "checked_on": today - timedelta(days=30),
            },
            (f"{kind.replace('_', '-')}.pdf", evidence) if days > 0 else None,
        )


def _add_history(actor) -> None:
    """A variation and an extension on the flagship contracts, once."""
    hub = _by(Contract, Contract.reference, "OPCC-VS-2024-01")
    if hub is not None and not hub.variations:
        services.record_variation(
            actor,
            hub,
            {
                "kind": "variation",
                "description": "Add an out-of-hours helpline to the victim care hub",
                "reason": "Needs assessment showed a gap in evening and weekend support",
                "value_change": Decimal("36000"),
                "effective_on": date(2025, 10, 1),
                "approved_by": "Helen Ward, Chief Finance Officer",
                "approved_on": date(2025, 9, 12),
            },
        )
    panels = _by(Contract, Contract.reference, "OPCC-NJP-2024-01")
    if panels is not None and not panels.variations:
        services.record_variation(
            actor,
            panels,
            {
                "kind": "extension",
                "description": "Take up the 12-month extension option",
                "reason": "Panels performing well; aligns end date with the new RJ strategy",
                "value_change": Decimal("38000"),
                "new_end_on": date(2028, 3, 31),
                "effective_on": date(2026, 1, 15),
                "approved_by": "Mark Ellis, Chief Executive",
                "approved_on": date(2026, 1, 10),
            },
        )
