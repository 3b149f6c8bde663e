"""A demo delivery plan with progress, and a few risks, for the board's progress view."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from pam.extensions import db
from pam.programmes import services
from pam.programmes.models import Objective

PLAN = [
    (
        "Every victim is offered restorative justice at the right time",
        [
            (
                "Build a single referral route for police, probation and YJS",
                [
                    (
                        "Referral form agreed with partners",
                        "Sarah Collins",
                        -120,
                        "done",
                        "green",
                        "Agreed at the RJ partnership meeting",
                    ),
                    (
                        "Self-referral web form live",
                        "Sarah Collins",
                        -20,
                        "in_progress",
                        "amber",
                        "Testing with the victims' forum; accessibility fixes outstanding",
                    ),
                ],
            ),
            (
                "Raise awareness among frontline officers",
                [
                    (
                        "RJ awareness in student officer training",
                        "Tom Reeve",
                        45,
                        "in_progress",
                        "green",
                        "Sessions booked for the January intake",
                    ),
                ],
            ),
        ],
    ),
    (
        "A skilled, supported facilitator workforce",
        [
            (
                "Recruit and accredit volunteer facilitators",
                [
                    (
                        "30 volunteers accredited",
                        "Tom Reeve",
                        150,
                        "in_progress",
                        "red",
                        "Only 11 accredited so far: recruitment campaign extended",
                    ),
                ],
            ),
        ],
    ),
]

RISKS = [
    (
        "Volunteer facilitators leave faster than they are recruited",
        "RJ services",
        4,
        4,
        "Tom Reeve",
        "Recruitment campaign; exit interviews; peer supervision",
    ),
    (
        "Ministry of Justice grant for 2027/28 not confirmed",
        "Victims' services",
        3,
        5,
        "Helen Ward",
        "Contract break clauses; reserve plan agreed with the CFO",
    ),
    (
        "Police referral pathway depends on a few champions",
        "RJ services",
        3,
        3,
        "Sarah Collins",
        "Referral in the new crime recording system",
    ),
]


def load_programmes(actor, today: date) -> int:
    if db.session.scalar(select(Objective.id)) is not None:
        return 0
    added = 0
    for objective_title, actions in PLAN:
        objective = services.add_objective(actor, objective_title)
        for action_title, milestones in actions:
            action = services.add_action(actor, objective, action_title)
            for title, owner, days, status, rag, note in milestones:
                milestone = services.add_milestone(
                    actor, action, title, owner, today + timedelta(days)
                )
                services.record_progress(
                    actor, milestone, today - timedelta(days=7), note, status, rag
                )
                added += 1
    for title, subject, likelihood, impact, owner, mitigations in RISKS:
        services.add_risk(
            actor,
            {
                "title": title,
                "subject": subject,
                "likelihood": str(likelihood),
                "impact": str(impact),
                "owner": owner,
                "mitigations": mitigations,
                "review_on": today + timedelta(days=30),
            },
        )
        added += 1
    return added


def load_pilot(actor, today: date) -> int:
    """Neighbourhood Justice Panels: a site per area, monthly panels for a year, 2-4 cases
    each, recorded by anonymised reference, with believable outcomes."""
    import random

    from pam.outcomes.models import BREAKDOWNS
    from pam.programmes.models import Pilot
    from pam.providers.models import Area

    if db.session.scalar(select(Pilot.id)) is not None:
        return 0
    rng = random.Random("njp-demo")  # noqa: S311 - demo figures, not secrets  # nosec B311
    start = date(today.year - 1, today.month, 1)
    pilot = services.add_pilot(
        actor,
        "Neighbourhood Justice Panels",
        "Community panels resolving low-level crime and anti-social behaviour, with trained "
        "volunteers, as an alternative to formal action where victims agree.",
        start,
    )
    sources = ["Police", "Police", "Police", "Self-referral", "Other"]
    offences = [
        c for c in BREAKDOWNS["crime_type"][1] if c not in ("Sexual offences", "Domestic abuse")
    ]
    added = 1
    for area in db.session.scalars(select(Area).where(Area.code.in_(["DORSET", "BCP"]))):
        code = "DOR" if area.code == "DORSET" else "BCP"
        site = services.add_site(actor, pilot, area.id, f"{area.name} panel")
        number = 0
        for month in range(12):
            held = date(
                start.year + (start.month - 1 + month) // 12, (start.month - 1 + month) % 12 + 1, 14
            )
            if held >= today:
                break
            session = services.add_session(actor, site, held, rng.randint(3, 6))
            for _ in range(rng.randint(2, 4)):
                number += 1
                recent = (today - held).days < 60
                services.add_case(
                    actor,
                    session,
                    {
                        "reference": f"NJP-{code}-{held.year}-{number:03d}",
                        "referral_source": rng.choice(sources),
                        "offence_category": rng.choice(offences),
                        "outcome_agreed": rng.choice(services.OUTCOMES[:5]),
                        "outcome_completed": None if recent else rng.random() < 0.82,
                        "victim_satisfaction": rng.choice([None, 3, 4, 4, 5, 5]),
                    },
                )
                added += 1
    return added
