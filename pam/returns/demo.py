"""Demo returns: two full financial years of accepted returns, and the current year so far.

Figures vary believably around each target (a seeded random walk per contract, so every
load gives the same portfolio): most contracts hover near target, one struggles into Red,
one slips into Amber two quarters running. Some returns were late, one was never sent,
one was queried and resubmitted, and the latest quarter has a mix of submitted, queried,
draft and overdue. Submission dates are set to when they would have happened.
Idempotent: a contract that already has returns is left alone.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from pam.auth.models import User
from pam.contracts.models import Contract, ContractStatus
from pam.core.periods import Period
from pam.extensions import db
from pam.outcomes.models import Unit
from pam.returns import services
from pam.returns.imports import Entries
from pam.returns.layout import Layout, check_entries, swings
from pam.returns.models import ProviderReturn, ReturnSource

STRUGGLING = "OPCC-RJ-2024-02"  # drifts into Red through 2025/26
SLIPPING = "OPCC-MED-2024-01"  # Amber two quarters running, lately
NEVER_SENT = ("OPCC-VS-2024-03", "2024/25-Q3")
QUERIED = ("OPCC-RJ-2024-01", "2025/26-Q2")
LATE_EVERY_OTHER = "OPCC-NJP-2024-02"
NARRATIVE = {
    "N:achievements": "Steady referrals from neighbourhood policing teams; two new volunteer "
    "facilitators accredited; positive feedback from victims at case closure.",
    "N:challenges": "Staff sickness in the second month slowed first contact; covered by "
    "redistributing cases across the team.",
    "N:case_study": "A victim of a burglary met the young person responsible at a restorative "
    "conference. She said afterwards that she felt safe in her home again.",
}


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def _factor(rng: random.Random, reference: str, period: Period) -> float:
    base = rng.gauss(1.02, 0.08)
    if reference == STRUGGLING and period.year.start_year >= 2025:
        base -= 0.25
    if reference == SLIPPING and period.label in ("2025/26-Q4", "2026/27-Q1"):
        base = 0.93
    return base


def _answers(layout: Layout, rng: random.Random, factor: float) -> dict[str, str]:
    answers: dict[str, str] = {}
    for item in layout.section("measures"):
        if item.total_key:
            continue
        target = item.measure.target_for(layout.period.starts_on)
        figure = float(target.period_target) if target else 10.0
        factor_here = factor * rng.gauss(1.0, 0.05)  # measures do not move in lockstep
        if item.unit == Unit.COUNT:
            answers[item.key] = str(max(0, round(figure * factor_here)))
        elif item.unit == Unit.PERCENTAGE:
            share = figure * (1 + (factor_here - 1) / 2)
            answers[item.key] = f"{min(100.0, max(0.0, share)):.1f}"
        else:  # days: lower is better, so a good factor shortens them
            answers[item.key] = f"{max(1.0, figure / max(factor_here, 0.5)):.1f}"
    _add_breakdowns(layout, answers)
    spend = layout.contract.annual_value / 4 * Decimal(str(round(rng.uniform(0.9, 1.03), 2)))
    responses = rng.randint(8, 30)
    answers.update(
        {
            "S:spend": f"{spend:.2f}",
            "Q:responses": str(responses),
            "Q:satisfied": str(round(responses * rng.uniform(0.75, 0.95))),
            **NARRATIVE,
        }
    )
    return answers


def _split(total: int, categories: list[str], rng: random.Random) -> dict[str, int]:
    """A count shared out unevenly (some categories small, as in life), adding up exactly."""
    weights = [rng.random() ** 2 + 0.02 for _ in categories]
    shares = [int(total * weight / sum(weights)) for weight in weights]
    shares[max(range(len(shares)), key=weights.__getitem__)] += total - sum(shares)
    return dict(zip(categories, shares, strict=True))


def _add_breakdowns(layout: Layout, answers: dict[str, str]) -> None:
    """Breakdown categories of each count measure, and equality monitoring of the people
    the service worked with. Their own seeded generator, so the totals stay as they were."""
    rng = random.Random(f"{layout.contract.reference} {layout.period.label}")  # noqa: S311  # nosec B311
    groups: dict[tuple[str, str], list[str]] = {}
    for item in layout.section("measures"):
        if item.total_key and item.unit == Unit.COUNT:
            groups.setdefault((item.total_key, item.breakdown_label), []).append(item.key)
    for (total_key, _title), keys in groups.items():
        answers.update({k: str(v) for k, v in _split(int(answers[total_key]), keys, rng).items()})
    counts = [int(answers[item.key]) for item in layout.section("measures")
              if not item.total_key and item.unit == Unit.COUNT]  # fmt: skip
    people = max(counts, default=0)
    equality: dict[str, list[str]] = {}
    for item in layout.section("equality"):
        equality.setdefault(item.key.split(":")[1], []).append(item.key)
    for keys in equality.values():
        answers.update({k: str(v) for k, v in _split(people, keys, rng).items()})


def _submitter(contract: Contract) -> User | None:
    return db.session.scalar(
        select(User).where(User.organisation_id == contract.provider_id, User.is_demo.is_(True))
    )


def _submit(actor, contract, period, answers, when, reviewer, decision="accepted", comment=""):
    provider_return = services.return_for(actor, contract, period)
    layout = services.layout_for(contract, period)
    checked = check_entries(layout, answers)
    explanations = {
        item.key: "Seasonal change in referrals; discussed with the contract manager"
        for item in swings(layout, checked.values, Decimal(50))
    }
    submitter = _submitter(contract)
    services.submit_return(
        submitter or actor,
        provider_return,
        Entries(raw=answers, explanations=explanations),
        signed_off_by=f"{submitter.full_name}, {submitter.job_title}" if submitter else "Manager",
        source=ReturnSource.SPREADSHEET,
        submitted_at=when,
        layout=layout,
    )
    if decision:
        services.review_return(
            reviewer or actor, provider_return, decision, comment, reviewed_at=when + timedelta(5)
        )
    db.session.flush()
    return provider_return


def load_returns(actor, today: date) -> int:
    """Add demo returns to demo contracts that have none; returns how many were added."""
    reviewer = db.session.scalar(select(User).where(User.email == "officer@opcc.example.org"))
    added = 0
    contracts = db.session.scalars(
        select(Contract)
        .where(Contract.status != ContractStatus.MOBILISING)
        .order_by(Contract.reference)
    ).all()
    for contract in contracts:
        has_returns = db.session.scalar(
            select(func.count(ProviderReturn.id)).where(ProviderReturn.contract_id == contract.id)
        )
        if has_returns or contract.framework is None or not contract.framework.measures:
            continue
        rng = random.Random(contract.reference)  # noqa: S311 - demo figures, not secrets  # nosec B311
        periods = services.reporting_periods(contract, today)
        for index, period in enumerate(periods):
            added += _one_return(actor, contract, period, index, periods, rng, reviewer, today)
    return added


def _one_return(actor, contract, period, index, periods, rng, reviewer, today) -> int:
    if (contract.reference, period.label) == NEVER_SENT:
        return 0
    due = services.due_on(contract, period)
    latest = index == len(periods) - 1
    late = contract.reference == LATE_EVERY_OTHER and index % 2 == 1
    when = _at(due + timedelta(days=9 if late else -rng.randint(1, 6)))
    layout = services.layout_for(contract, period)
    answers = _answers(layout, rng, _factor(rng, contract.reference, period))
    if latest and when.date() > today:
        return 0  # not due yet: nothing sent
    if latest:
        return _latest_quarter(actor, contract, period, answers, when, reviewer, rng)
    if (contract.reference, period.label) == QUERIED:
        police = "K:RJ01:referral_source:police"  # the overstated referrals, all police
        first = dict(answers, **{key: str(int(answers[key]) + 40) for key in ("K:RJ01", police)})
        provider_return = _submit(
            actor, contract, period, first, when, reviewer, "queried",
            "Referrals look far higher than the police referral data: please check",
        )  # fmt: skip
        services.submit_return(
            _submitter(contract) or actor, provider_return, Entries(raw=answers),
            signed_off_by="Amy Turner, Service manager", source=ReturnSource.WEB,
            submitted_at=when + timedelta(days=8),
        )  # fmt: skip
        services.review_return(
            reviewer or actor, provider_return, "accepted", "", reviewed_at=when + timedelta(10)
        )
        return 1
    _submit(actor, contract, period, answers, when, reviewer)
    return 1


def _latest_quarter(actor, contract, period, answers, when, reviewer, rng) -> int:
    """The most recent quarter: a realistic mix of states for the officer's review queue."""
    roll = rng.random()
    if roll < 0.45:
        _submit(actor, contract, period, answers, when, reviewer, decision=None)
    elif roll < 0.55:
        comment = "The spend is well under a quarter of the annual value: is anything missing?"
        _submit(actor, contract, period, answers, when, reviewer, "queried", comment)
    elif roll < 0.7:
        provider_return = services.return_for(actor, contract, period)
        half = {key: value for key, value in answers.items() if key.startswith("K:")}
        services.save_draft(_submitter(contract) or actor, provider_return, Entries(raw=half), [])
    elif roll < 0.8:
        return 0  # overdue: nothing sent
    else:
        _submit(actor, contract, period, answers, when, reviewer)
    return 1
