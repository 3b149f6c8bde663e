"""Demo data: a Dorset-like OPCC with its areas, services, providers and users.

Idempotent: each record is looked up by its natural key (code, name, email) first, so
running `flask --app app pam demo` twice adds nothing and records no new events.
Everything goes through the same services as the web pages, so it is all audited.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from pam.audit.models import SystemActor
from pam.auth import services as auth_services
from pam.auth.models import Role, User
from pam.contracts.demo import load_contracts
from pam.core.periods import today_in_uk
from pam.decisions.demo import load_decisions
from pam.evaluations.demo import load_evaluations
from pam.extensions import db
from pam.market.demo import load_assessments, load_tenders
from pam.outcomes.demo import load_frameworks
from pam.programmes.demo import load_pilot, load_programmes
from pam.providers import services as provider_services
from pam.providers.models import Area, Organisation, ServiceCategory
from pam.returns.demo import load_returns

LOADER = SystemActor("demo data loader")
DEMO_PASSWORD = "dorset-demo-2026"  # noqa: S105 - published demo password, refused in production  # nosec B105
OPCC_NAME = "Dorset Office of the Police and Crime Commissioner"

AREAS = [
    ("DORSET", "Dorset Council", True),
    ("BCP", "Bournemouth, Christchurch and Poole Council", True),
    # Before April 2019: the areas of the original Neighbourhood Justice Panel pilots.
    ("BOURNEMOUTH", "Bournemouth Borough Council (before 2019)", False),
    ("POOLE", "Borough of Poole (before 2019)", False),
    ("DORSET-CC", "Dorset County Council (before 2019)", False),
]

SERVICE_CATEGORIES = [
    (
        "RJ-ADULT",
        "Restorative justice for adult victims",
        "Direct and indirect restorative processes for victims of adult offenders.",
    ),
    (
        "RJ-YOUTH",
        "Restorative justice in youth justice",
        "Restorative interventions with children who have offended, and referral order panels.",
    ),
    (
        "VICTIMS",
        "Victims' support and advocacy",
        "Emotional and practical support helping victims cope and recover.",
    ),
    ("MEDIATION", "Community mediation", "Mediation of neighbour and community disputes."),
    (
        "NJP",
        "Neighbourhood Justice Panels",
        "Community panels resolving low-level crime and anti-social behaviour.",
    ),
    ("ISVA", "Sexual violence advocacy", "Independent sexual violence advisers (ISVAs)."),
    ("DA", "Domestic abuse support", "Support for victims of domestic abuse, including IDVAs."),
]

PROVIDERS = [
    {
        "name": "Purbeck Community Mediation",
        "kind": "vcse_charity",
        "charity_number": "1104321",
        "address": "The Old School House\nWareham",
        "postcode": "BH20 4LP",
        "email": "hello@purbeck-mediation.example.org",
        "phone": "01929 550123",
        "safeguarding_lead_name": "Ruth Penney",
        "safeguarding_lead_email": "ruth.penney@purbeck-mediation.example.org",
        "has_quality_mark": True,
        "quality_mark_expires_on": date(2027, 3, 31),
        "areas": ["DORSET"],
        "services": ["MEDIATION", "RJ-ADULT", "NJP"],
    },
    {
        "name": "Shoreline Victim Care CIC",
        "kind": "cic",
        "company_number": "11223344",
        "address": "14 Quay Road\nChristchurch",
        "postcode": "BH23 1BU",
        "email": "contact@shoreline-victimcare.example.org",
        "phone": "01202 480900",
        "safeguarding_lead_name": "Marcus Hale",
        "safeguarding_lead_email": "marcus.hale@shoreline-victimcare.example.org",
        "has_quality_mark": True,
        "quality_mark_expires_on": date(2027, 1, 15),
        "areas": ["BCP", "DORSET"],
        "services": ["VICTIMS", "RJ-ADULT"],
    },
    {
        "name": "Dorset Combined Youth Justice Service",
        "kind": "statutory",
        "address": "County Hall\nColliton Park\nDorchester",
        "postcode": "DT1 1XJ",
        "email": "yjs@dorsetyjs.example.org",
        "phone": "01305 221000",
        "safeguarding_lead_name": "Kerry Blake",
        "safeguarding_lead_email": "kerry.blake@dorsetyjs.example.org",
        "has_quality_mark": True,
        "quality_mark_expires_on": date(2026, 12, 20),
        "areas": ["BCP", "DORSET"],
        "services": ["RJ-YOUTH"],
    },
    {
        "name": "Probation Service, Dorset Delivery Unit",
        "kind": "statutory",
        "address": "Probation Office\nPoole",
        "postcode": "BH15 1SU",
        "email": "dorset.pdu@probation.example.org",
        "areas": ["BCP", "DORSET"],
        "services": ["RJ-ADULT"],
    },
    {
        "name": "Harbour Light Advocacy",
        "kind": "vcse_charity",
        "charity_number": "1187654",
        "address": "3 Lagland Street\nPoole",
        "postcode": "BH15 1QD",
        "email": "info@harbourlight.example.org",
        "phone": "01202 660011",
        "safeguarding_lead_name": "Sunita Rao",
        "safeguarding_lead_email": "sunita.rao@harbourlight.example.org",
        "areas": ["BCP"],
        "services": ["ISVA", "DA", "VICTIMS"],
    },
    {
        "name": "Restore Wessex Ltd",
        "kind": "private",
        "company_number": "09876543",
        "address": "Unit 4, Canford Business Park\nWimborne",
        "postcode": "BH21 3BW",
        "email": "enquiries@restorewessex.example.org",
        "has_quality_mark": True,
        "quality_mark_expires_on": date(2026, 6, 30),
        "areas": ["BCP", "DORSET"],
        "services": ["RJ-ADULT", "MEDIATION"],
    },
    {
        "name": "Jurassic Coast Neighbourhood Justice Network",
        "kind": "vcse_charity",
        "charity_number": "1160987",
        "address": "Bridport Town Hall\nBridport",
        "postcode": "DT6 3LF",
        "email": "panels@jcnjn.example.org",
        "safeguarding_lead_name": "Owen Marsh",
        "safeguarding_lead_email": "owen.marsh@jcnjn.example.org",
        "areas": ["DORSET"],
        "services": ["NJP", "MEDIATION"],
    },
    {
        "name": "Stour Valley Women's Centre",
        "kind": "vcse_charity",
        "charity_number": "1092233",
        "address": "22 Salisbury Street\nBlandford Forum",
        "postcode": "DT11 7AR",
        "email": "support@stourvalleywomen.example.org",
        "phone": "01258 455777",
        "safeguarding_lead_name": "Jo Pritchard",
        "safeguarding_lead_email": "jo.pritchard@stourvalleywomen.example.org",
        "areas": ["DORSET"],
        "services": ["DA", "VICTIMS"],
    },
]

# Each provider's main contact for contract matters (a second for the larger ones).
CONTACTS = {
    "Purbeck Community Mediation": [
        ("Amy Turner", "Service manager", "amy.turner@purbeck-mediation.example.org", True),
        ("Joe Hardy", "Finance officer", "finance@purbeck-mediation.example.org", False),
    ],
    "Shoreline Victim Care CIC": [
        ("Ben Okafor", "Director", "ben.okafor@shoreline-victimcare.example.org", True),
    ],
    "Dorset Combined Youth Justice Service": [
        ("Claire Dunn", "Restorative justice lead", "claire.dunn@dorsetyjs.example.org", True),
    ],
    "Probation Service, Dorset Delivery Unit": [
        ("Martin Gale", "Head of delivery unit", "martin.gale@probation.example.org", True),
    ],
    "Harbour Light Advocacy": [
        ("Nadia Rahman", "Chief executive", "nadia@harbourlight.example.org", True),
    ],
    "Restore Wessex Ltd": [
        ("Owen Pryce", "Managing director", "owen.pryce@restorewessex.example.org", True),
    ],
    "Jurassic Coast Neighbourhood Justice Network": [
        ("Grace Lowe", "Panel coordinator", "grace@jcnjn.example.org", True),
    ],
    "Stour Valley Women's Centre": [
        ("Helen Marsh", "Centre manager", "helen.marsh@stourvalleywc.example.org", True),
    ],
}

DEMO_USERS = [
    {
        "email": "admin@opcc.example.org",
        "full_name": "Priya Shah",
        "role": Role.ADMINISTRATOR,
        "job_title": "Systems and information manager",
    },
    {
        "email": "officer@opcc.example.org",
        "full_name": "Sarah Collins",
        "role": Role.OFFICER,
        "job_title": "Commissioning and partnerships manager",
    },
    {
        "email": "tom.reeve@opcc.example.org",
        "full_name": "Tom Reeve",
        "role": Role.OFFICER,
        "job_title": "Commissioning officer",
    },
    {
        "email": "cfo@opcc.example.org",
        "full_name": "Helen Ward",
        "role": Role.DECISION_MAKER,
        "job_title": "Chief Finance Officer",
    },
    {
        "email": "ceo@opcc.example.org",
        "full_name": "Mark Ellis",
        "role": Role.DECISION_MAKER,
        "job_title": "Chief Executive",
    },
    {
        "email": "board@cjb.example.org",
        "full_name": "Jane Hart",
        "role": Role.BOARD_MEMBER,
        "job_title": "Criminal Justice Board member",
    },
    {
        "email": "amy.turner@purbeck-mediation.example.org",
        "full_name": "Amy Turner",
        "role": Role.PROVIDER,
        "organisation": "Purbeck Community Mediation",
        "job_title": "Service manager",
        "is_organisation_admin": True,  # makes the organisation's API tokens
    },
    {
        "email": "ben.okafor@shoreline-victimcare.example.org",
        "full_name": "Ben Okafor",
        "role": Role.PROVIDER,
        "organisation": "Shoreline Victim Care CIC",
        "job_title": "Operations lead",
    },
    {
        "email": "claire.dunn@dorsetyjs.example.org",
        "full_name": "Claire Dunn",
        "role": Role.PROVIDER,
        "organisation": "Dorset Combined Youth Justice Service",
        "job_title": "Restorative justice co-ordinator",
    },
]


def _by(model, column, value):
    return db.session.scalar(select(model).where(column == value))


def load() -> int:
    """Load whatever of the demo data is missing. Returns how many records were added."""
    created = 0
    areas = {}
    for code, name, active in AREAS:
        area = _by(Area, Area.code, code)
        if area is None:
            area = provider_services.save_reference_item(
                LOADER, Area, None, {"code": code, "name": name, "is_active": active}
            )
            created += 1
        areas[code] = area
    categories = {}
    for code, name, description in SERVICE_CATEGORIES:
        category = _by(ServiceCategory, ServiceCategory.code, code)
        if category is None:
            category = provider_services.save_reference_item(
                LOADER,
                ServiceCategory,
                None,
                {"code": code, "name": name, "description": description},
            )
            created += 1
        categories[code] = category
    if _by(Organisation, Organisation.name, OPCC_NAME) is None:
        provider_services.create_organisation(
            LOADER,
            {
                "name": OPCC_NAME,
                "kind": "opcc",
                "address": "Force Headquarters\nWinfrith\nDorchester",
                "postcode": "DT2 8DZ",
            },
        )
        created += 1
    for spec in PROVIDERS:
        if _by(Organisation, Organisation.name, spec["name"]) is not None:
            continue
        fields = {k: v for k, v in spec.items() if k not in ("areas", "services")}
        organisation = provider_services.create_organisation(
            LOADER,
            fields,
            [areas[code].id for code in spec["areas"]],
            [categories[code].id for code in spec["services"]],
        )
        db.session.flush()
        for name, job_title, email, is_primary in CONTACTS.get(spec["name"], []):
            provider_services.add_contact(
                LOADER,
                organisation,
                {"name": name, "job_title": job_title, "email": email, "is_primary": is_primary},
            )
        created += 1
    for spec in DEMO_USERS:
        if _by(User, User.email, spec["email"]) is not None:
            continue
        organisation = _by(Organisation, Organisation.name, spec.get("organisation", OPCC_NAME))
        auth_services.create_user(
            LOADER,
            email=spec["email"],
            full_name=spec["full_name"],
            role=spec["role"],
            organisation_id=organisation.id if organisation else None,
            job_title=spec.get("job_title"),
            password=DEMO_PASSWORD,
            is_demo=True,
            is_organisation_admin=spec.get("is_organisation_admin", False),
        )
        created += 1
    db.session.flush()
    created += load_contracts(LOADER, today_in_uk())
    db.session.flush()
    created += load_frameworks(LOADER)
    db.session.flush()
    created += load_returns(LOADER, today_in_uk())
    db.session.flush()
    created += load_decisions(LOADER, today_in_uk())
    db.session.flush()
    created += load_assessments(LOADER)
    db.session.flush()
    created += load_tenders(LOADER, today_in_uk())
    db.session.flush()
    created += load_frameworks(LOADER)  # for the contract the demo award created
    created += load_programmes(LOADER, today_in_uk())
    created += load_pilot(LOADER, today_in_uk())
    db.session.flush()
    created += load_evaluations(LOADER)
    return created
