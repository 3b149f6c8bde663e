"""Demo evaluation reports: an interim evaluation of the Neighbourhood Justice Panel pilot
and a final one of a restorative justice contract's first year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from pam.contracts.models import Contract
from pam.evaluations import services
from pam.evaluations.models import EvaluationReport
from pam.extensions import db
from pam.programmes.models import Pilot


def load_evaluations(actor) -> int:
    if db.session.scalar(select(func.count(EvaluationReport.id))):
        return 0
    added = 0
    pilot = db.session.scalar(select(Pilot).order_by(Pilot.id))
    if pilot is not None:
        services.create_report(actor, {
            "subject": f"pilot:{pilot.id}", "title": f"{pilot.name}: interim evaluation",
            "stage": "interim", "period_start": pilot.start_on,
            "period_end": date(2026, 9, 30),
            "summary": "Panels are running in every area; most agreements are completed and "
            "victims who were asked rate the process highly.",
            "recommendations": "1. Recruit more volunteer panellists in the rural areas.\n"
            "2. Ask every victim for feedback, not only those who attend.\n"
            "3. Continue the pilot to its planned end, then decide on commissioning.",
        })  # fmt: skip
        added += 1
    contract = db.session.scalar(select(Contract).where(Contract.reference == "OPCC-RJ-2024-01"))
    if contract is not None:
        services.create_report(actor, {
            "subject": f"contract:{contract.id}",
            "title": f"{contract.reference}: evaluation of 2025/26", "stage": "final",
            "period_start": date(2025, 4, 1), "period_end": date(2026, 3, 31),
            "summary": "The service met most of its targets in 2025/26.",
            "recommendations": "Keep the police referral route; set a target for indirect "
            "processes in the next framework.",
        })  # fmt: skip
        added += 1
    return added
