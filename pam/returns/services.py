"""Returns: the schedule, drafts, submission, review and corrections.

Every route in (spreadsheet, CSV, web form, command line) ends in submit_return(), so the
checks, the messages and the audit trail are the same whichever the provider used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.contracts.models import Contract
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import Period, due_date
from pam.extensions import db
from pam.files import services as files
from pam.outcomes.models import FrameworkMeasure, Metric, OutcomeFramework
from pam.outcomes.schedule import ended_periods, previous_period
from pam.returns import facts
from pam.returns.imports import Entries
from pam.returns.layout import Item, Layout, Problem, build_layout, check_entries, swings
from pam.returns.models import (
    ProviderReturn,
    ReturnFigure,
    ReturnReview,
    ReturnSource,
    ReturnStatus,
    ReturnVersion,
)


class ReturnRefused(BusinessRuleError):
    """The return cannot be submitted as it is: every problem is listed."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"The return has {len(problems)} problem(s)")
        self.problems = problems


class ExplanationsNeeded(BusinessRuleError):
    """Figures moved a lot against the previous period: each needs a one-line explanation."""

    def __init__(self, items: list[Item]):
        super().__init__("Explain the large changes before submitting")
        self.items = items


# --- the schedule -------------------------------------------------------------------------


def due_on(contract: Contract, period: Period) -> date:
    framework = contract.framework
    days = framework.due_days if framework else 15
    working = framework.due_in_working_days if framework else True
    return due_date(period.ends_on, days, working)


def schedule(contract: Contract, today: date) -> list[dict[str, Any]]:
    """Each period that has ended, newest first, with its return (if started) and due date."""
    if contract.framework is None or not contract.framework.active_measures:
        return []
    existing = {
        r.period: r
        for r in db.session.scalars(
            select(ProviderReturn).where(ProviderReturn.contract_id == contract.id)
        )
    }
    rows = []
    for period in reporting_periods(contract, today):
        provider_return = existing.get(period.label)
        rows.append(
            {
                "contract": contract,
                "period": period,
                "return": provider_return,
                "due_on": provider_return.due_on if provider_return else due_on(contract, period),
            }
        )
    return list(reversed(rows))


def reporting_periods(contract: Contract, today: date) -> list[Period]:
    """The periods a return can be made for: those that have ended."""
    return ended_periods(contract, today)


def find_return(contract: Contract, period: Period) -> ProviderReturn | None:
    return db.session.scalar(
        select(ProviderReturn).where(
            ProviderReturn.contract_id == contract.id, ProviderReturn.period == period.label
        )
    )


def return_for(actor: Any, contract: Contract, period: Period) -> ProviderReturn:
    """The contract's return for the period, started (as an empty draft) if need be."""
    existing = find_return(contract, period)
    if existing is not None:
        return existing
    provider_return = ProviderReturn(
        contract=contract,
        period=period.label,
        period_start=period.starts_on,
        period_end=period.ends_on,
        due_on=due_on(contract, period),
    )
    db.session.add(provider_return)
    audit.record_create(actor, provider_return)
    return provider_return


def previous_figures(contract: Contract, period: Period) -> dict[str, Decimal | str]:
    """The accepted figures of the period before, for reference and for swing checks."""
    before = previous_period(contract, period)
    earlier = find_return(contract, before) if before else None
    version = earlier.accepted_version if earlier else None
    if version is None:
        return {}
    values: dict[str, Decimal | str] = {figure.key: figure.value for figure in version.figures}
    for key, value in version.sections.items():
        if not key.startswith("N:"):
            values[key] = Decimal(str(value))
    return values


def layout_for(contract: Contract, period: Period) -> Layout:
    load_measures(contract)
    return build_layout(contract, period, previous_figures(contract, period))


def load_measures(contract: Contract) -> None:
    """Load the contract's framework with its measures, their metrics' versions and their
    targets, a statement for each kind. A return reads all of them, and loaded one at a
    time they cost three statements a measure (a national return has about twenty)."""
    measures = selectinload(Contract.framework).selectinload(OutcomeFramework.measures)
    db.session.execute(
        select(Contract)
        .where(Contract.id == contract.id)
        .options(
            measures.selectinload(FrameworkMeasure.metric).selectinload(Metric.versions),
            measures.selectinload(FrameworkMeasure.targets),
        )
    ).all()


# --- drafts and submission --------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """What a return currently says: its draft if it has one, else its latest version."""

    values: dict[str, Any]
    explanations: dict[str, str]
    problems: list[Problem]


def current_answers(provider_return: ProviderReturn | None) -> Answers:
    if provider_return is not None and provider_return.has_draft:
        return Answers(
            dict(provider_return.draft_values),
            dict(provider_return.draft_explanations),
            [Problem(p.get("key"), p["message"]) for p in provider_return.draft_problems],
        )
    latest = provider_return.latest if provider_return is not None else None
    if latest is not None:
        values = {f.key: f.value for f in latest.figures} | dict(latest.sections)
        return Answers(values, dict(latest.explanations), [])
    return Answers({}, {}, [])


def save_draft(
    actor: Any, provider_return: ProviderReturn, entries: Entries, problems: list[Problem]
) -> None:
    """Keep what was typed or uploaded, with its problems, so nothing is lost."""
    before = audit.snapshot(provider_return)
    provider_return.draft_values = {k: _storable(v) for k, v in entries.raw.items()}
    provider_return.draft_explanations = dict(entries.explanations)
    provider_return.draft_problems = [
        {"key": problem.key, "message": problem.message} for problem in problems
    ]
    provider_return.draft_saved_at = utcnow()
    audit.record_update(
        actor,
        provider_return,
        before,
        action="draft_saved",
        summary=f"Draft saved with {len(problems)} problem(s)" if problems else "Draft saved",
    )


def _storable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _check_can_submit(actor: Any, provider_return: ProviderReturn, correction: str) -> None:
    status = provider_return.status
    if status == ReturnStatus.SUBMITTED:
        raise BusinessRuleError(
            "This return has been submitted and is awaiting review: it can be changed once "
            "it has been reviewed"
        )
    if status == ReturnStatus.ACCEPTED and not correction.strip():
        raise BusinessRuleError(
            "This return has been accepted and is locked: a correction needs a reason",
            field="correction_reason",
        )


def submit_return(
    actor: Any,
    provider_return: ProviderReturn,
    entries: Entries,
    *,
    signed_off_by: str,
    source: ReturnSource,
    upload: tuple[str, bytes] | None = None,
    correction_reason: str = "",
    submitted_at: datetime | None = None,
    layout: Layout | None = None,
) -> ReturnVersion:
    """Check everything and, only if all is well, store a new submitted version.

    `submitted_at` is for loading history (the demo, a migration from another system);
    every other caller lets it default to now. `layout` is the return's layout when the
    caller has already built it (to read the file against): building it reads the period
    before's accepted figures, a tenth of a bulk import's time when done twice.
    """
    _check_can_submit(actor, provider_return, correction_reason)
    if not (signed_off_by or "").strip():
        raise BusinessRuleError(
            "Enter the name and role of the person signing off the return", "signed_off_by"
        )
    contract = provider_return.contract
    if layout is None:
        layout = layout_for(contract, provider_return.reporting_period)
    elif (layout.contract.id, layout.period) != (contract.id, provider_return.reporting_period):
        raise ValueError("the layout given is for another contract or period")
    if not layout.section("measures"):
        raise BusinessRuleError("This contract has no measures to report yet")
    checked = check_entries(layout, entries.raw, entries.where, entries.percent_formats)
    problems = entries.problems + checked.problems
    if problems:
        raise ReturnRefused(problems)
    threshold = Decimal(str(current_app.config["PAM_SWING_PERCENT"]))
    unexplained = [
        item
        for item in swings(layout, checked.values, threshold)
        if not entries.explanations.get(item.key, "").strip()
    ]
    if unexplained:
        raise ExplanationsNeeded(unexplained)
    version = _store_version(
        actor, provider_return, layout, checked.values, entries, signed_off_by, source, upload,
        correction_reason, submitted_at or utcnow(),
    )  # fmt: skip
    return version


def _store_version(
    actor, provider_return, layout, values, entries, signed_off_by, source, upload, correction,
    submitted_at,
) -> ReturnVersion:  # fmt: skip
    stored_file = (
        files.store_file(actor, upload[0], upload[1], allowed=("xlsx", "csv")) if upload else None
    )
    correcting = provider_return.status == ReturnStatus.ACCEPTED
    version = ReturnVersion(
        provider_return=provider_return,
        number=len(provider_return.versions) + 1,
        source=source,
        file=stored_file,
        submitted_by_id=getattr(actor, "id", None),
        submitted_at=submitted_at,
        signed_off_by=signed_off_by.strip(),
        correction_reason=correction.strip(),
        sections={key: str(value) for key, value in values.items() if not key.startswith("K:")},
        explanations={
            key: text.strip()
            for key, text in entries.explanations.items()
            if key in values and text.strip()
        },
    )
    by_key = layout.by_key()
    for key, value in values.items():
        if key.startswith("K:"):
            item = by_key[key]
            version.figures.append(
                ReturnFigure(
                    key=key,
                    measure_id=item.measure.id,
                    metric_version_id=item.metric_version.id,
                    value=value,
                )
            )
    db.session.add(version)
    before = audit.snapshot(provider_return)
    provider_return.status = ReturnStatus.SUBMITTED
    provider_return.draft_values, provider_return.draft_explanations = {}, {}
    provider_return.draft_problems = []
    db.session.flush()
    audit.record_create(
        actor,
        version,
        summary=(f"Correction: {correction.strip()}" if correcting else "Submitted")
        + f", signed off by {signed_off_by.strip()}",
    )
    audit.record_update(actor, provider_return, before, action="submitted")
    return version


# --- review ------------------------------------------------------------------------------


def review_return(
    actor: Any,
    provider_return: ProviderReturn,
    decision: str,
    comment: str,
    reviewed_at: datetime | None = None,
) -> ReturnReview:
    """Accept the submitted version (locking it) or query it with comments for the provider."""
    if provider_return.status != ReturnStatus.SUBMITTED or provider_return.latest is None:
        raise BusinessRuleError("Only a submitted return awaiting review can be reviewed")
    if decision not in ("accepted", "queried"):
        raise BusinessRuleError("Choose whether to accept or query the return", "decision")
    if decision == "queried" and not (comment or "").strip():
        raise BusinessRuleError("Say what the provider needs to look at", field="comment")
    if (
        getattr(actor, "id", None) is not None
        and actor.id == provider_return.latest.submitted_by_id
    ):
        raise BusinessRuleError("You cannot review a return you submitted yourself")
    review = ReturnReview(
        provider_return=provider_return,
        version_id=provider_return.latest.id,
        decision=decision,
        comment=(comment or "").strip(),
        reviewer_id=getattr(actor, "id", None),
        reviewed_at=reviewed_at or utcnow(),
    )
    db.session.add(review)
    before = audit.snapshot(provider_return)
    provider_return.status = (
        ReturnStatus.ACCEPTED if decision == "accepted" else ReturnStatus.QUERIED
    )
    db.session.flush()
    audit.record_create(actor, review, summary=f"Return {decision}: {review.comment}".strip(": "))
    audit.record_update(actor, provider_return, before, action=decision)
    if decision == "accepted":
        facts.refresh_return(provider_return)
    return review


def needing_attention(contracts: list[Contract], today: date) -> dict[str, int]:
    """Counts for a home page: returns overdue, queried and awaiting review."""
    counts = {"overdue": 0, "queried": 0, "awaiting_review": 0}
    for contract in contracts:
        for row in schedule(contract, today):
            provider_return = row["return"]
            if provider_return is None or not provider_return.versions:
                counts["overdue"] += today > row["due_on"]
            elif provider_return.status == ReturnStatus.QUERIED:
                counts["queried"] += 1
            elif provider_return.status == ReturnStatus.SUBMITTED:
                counts["awaiting_review"] += 1
    return counts
