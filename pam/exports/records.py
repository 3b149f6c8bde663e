"""The record exports: contract register, returns data (long format), decision log and
audit trail, each as a Sheet that pam.exports.tabular writes as .csv or .xlsx."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from pam.audit.models import AuditEvent
from pam.contracts.models import Contract
from pam.core.template_helpers import uk_time
from pam.decisions.models import FundingDecision
from pam.exports.tabular import LongSheet, Sheet
from pam.extensions import db
from pam.outcomes.dictionary import current_names
from pam.outcomes.models import BREAKDOWNS
from pam.providers.models import Organisation
from pam.returns.layout import EQUALITY, slug
from pam.returns.models import ReturnFact, ReturnVersion

KINDS = {"K": "Measure", "S": "Spend", "Q": "Satisfaction", "E": "Equality monitoring"}
SECTION_NAMES = {"spend": "Spend on the service", "responses": "Service users who gave "
                 "feedback", "satisfied": "Satisfied or very satisfied"}  # fmt: skip


def contract_register(query: Select) -> Sheet:
    contracts = db.session.scalars(
        query.options(
            selectinload(Contract.provider),
            selectinload(Contract.service_category),
            selectinload(Contract.contract_manager),
            selectinload(Contract.areas),
        )
    ).all()
    return Sheet(
        "Contract register",
        ["Reference", "Title", "Provider", "Service category", "Areas", "Status", "Start",
         "End", "Original end", "Annual value (£)", "Total value (£)",
         "Original total value (£)", "Extension options", "Contract manager"],
        [[c.reference, c.title, c.provider.name, c.service_category.name,
          "; ".join(area.name for area in c.areas), c.status.label, c.start_on, c.end_on,
          c.original_end_on, c.annual_value, c.total_value, c.original_total_value,
          c.extension_options, c.contract_manager.full_name if c.contract_manager else ""]
         for c in contracts],
        ["", "", "", "", "", "", "date", "date", "date", "money", "money", "money", "", ""],
    )  # fmt: skip


def _category_labels() -> dict[tuple[str, str], str]:
    labels = {}
    for breakdown, (_title, names) in BREAKDOWNS.items():
        labels.update({(breakdown, slug(name)): name for name in names})
    for characteristic, (_title, names) in EQUALITY.items():
        labels.update({(characteristic, slug(name)): name for name in names})
    return labels


# Rows read from the database at a time by a long export (a server-side cursor on
# PostgreSQL), so a national year's figures are never all in memory at once.
ROWS_PER_READ = 2000
RETURNS_DATA = "Returns data"


def returns_data(year: str | None = None) -> LongSheet:
    """Accepted figures, one row per contract x period x measure x breakdown category: a
    national year is about 800,000 rows, read as they are written."""
    conditions = [ReturnFact.year == year] if year else []
    count = db.session.scalar(select(func.count(ReturnFact.id)).where(*conditions))
    query = (
        select(Contract.reference, Organisation.name, ReturnFact.year, ReturnFact.quarter,
               ReturnFact.period, ReturnFact.kind, ReturnFact.code, ReturnFact.breakdown,
               ReturnFact.category, ReturnFact.value, ReturnFact.unit, ReturnFact.target,
               ReturnFact.rag, ReturnVersion.number)
        .join(Contract, Contract.id == ReturnFact.contract_id)
        .join(Organisation, Organisation.id == Contract.provider_id)
        .join(ReturnVersion, ReturnVersion.id == ReturnFact.version_id)
        .where(*conditions)
        .order_by(Contract.reference, ReturnFact.period_end, ReturnFact.id)
        .execution_options(yield_per=ROWS_PER_READ)
    )  # fmt: skip
    return LongSheet(
        RETURNS_DATA,
        ["Contract", "Provider", "Financial year", "Quarter", "Period", "Kind", "Code",
         "Measure", "Breakdown", "Category", "Value", "Unit", "Target", "RAG",
         "Return version"],
        _returns_data_rows(query),
        count,
        ["", "", "", "", "", "", "", "", "", "", "number", "", "number", "rag", "count"],
        [16, 32, 10, 8, 12, 18, 8, 40, 18, 28, 12, 10, 12, 8, 9],
        notes=["Accepted returns only. Unsuppressed: for OPCC officers, not for publication."],
    )  # fmt: skip


def _returns_data_rows(query: Select) -> Iterator[list]:
    # Read as plain rows (Core), not through the ORM's loading: a fifth of the read.
    names, labels = current_names(), _category_labels()
    for (reference, provider, year, quarter, period, kind, code, breakdown, category, value,
         unit, target, rag, version) in db.session.connection().execute(query):  # fmt: skip
        yield [
            reference, provider, year, f"Q{quarter}", period, KINDS[kind],
            code if kind == "K" else "",
            names.get(code) or SECTION_NAMES.get(code, code.replace("_", " ")),
            breakdown.replace("_", " "), labels.get((breakdown, category), category) or "Total",
            value, unit, target, (rag or "").capitalize(), version,
        ]  # fmt: skip


def decision_log(decisions: Iterable[FundingDecision]) -> Sheet:
    return Sheet(
        "Decision log",
        ["Reference", "Title", "Type", "Status", "Provider", "Total (£)", "Financial years",
         "Public interest", "Drafted by", "Decided by", "Decided on", "Budget override"],
        [[d.reference, d.title, d.decision_type.label, d.status.label,
          d.provider.name if d.provider else "", d.total, " ".join(d.years),
          "Yes" if d.is_public_interest else "No",
          d.drafted_by.full_name if d.drafted_by else "",
          d.decided_by.full_name if d.decided_by else "", d.decided_on,
          d.budget_override_reason]
         for d in decisions],
        ["", "", "", "", "", "money", "", "", "", "", "date", ""],
    )  # fmt: skip


def audit_trail(events: Iterable[AuditEvent], count: int) -> LongSheet:
    """The events (read as they are written), `count` of them."""
    return LongSheet(
        "Audit trail",
        ["Sequence", "When (UK time)", "Who", "Channel", "Action", "Record type", "Record",
         "Record id", "Summary", "Request id", "Hash"],
        ([e.sequence, uk_time(e.occurred_at), e.actor_label, e.channel, e.action,
          e.record_type or "", e.record_label or "", e.record_id or "", e.summary,
          e.request_id or "", e.hash]
         for e in events),
        count,
        ["count", "datetime", "", "", "", "", "", "", "", "", ""],
        [10, 18, 30, 8, 12, 18, 30, 10, 60, 34, 66],
    )  # fmt: skip
