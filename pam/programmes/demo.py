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
