"""Writing evaluation reports: checked, audited, never half saved."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pam.audit import services as audit
from pam.contracts.models import Contract
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.core.forms import whole_number
from pam.evaluations.models import EvaluationReport, Stage
from pam.extensions import db
from pam.programmes.models import Pilot

LONGEST_PERIOD = timedelta(days=366 * 6)


def _check(fields: dict[str, Any]) -> None:
    if not (fields.get("title") or "").strip():
        raise BusinessRuleError("Enter a title for the report", field="title")
    kind, number = _subject(fields)
    model = {"contract": Contract, "pilot": Pilot}.get(kind)
    if model is None or number is None or db.session.get(model, number) is None:
        raise BusinessRuleError("Choose the contract or pilot the report evaluates", "subject")
    start, end = fields.get("period_start"), fields.get("period_end")
    if not isinstance(start, date):
        raise BusinessRuleError("Enter the date the period starts", field="period_start")
    if not isinstance(end, date):
        raise BusinessRuleError("Enter the date the period ends", field="period_end")
    if end < start:
        raise BusinessRuleError("The period must end after it starts", field="period_end")
    if end - start > LONGEST_PERIOD:
        raise BusinessRuleError("The period can be at most six years", field="period_end")


def _subject(fields: dict[str, Any]) -> tuple[str, int | None]:
    """'contract:12' -> ('contract', 12); the number is None unless it is ASCII digits of
    a sensible size ('²' is a digit to str.isdigit but not to int(), and a huge number
    overflows the database driver)."""
    kind, _, number = (fields.get("subject") or "").partition(":")
    return kind, whole_number(number)


def _apply(report: EvaluationReport, fields: dict[str, Any]) -> None:
    kind, number = _subject(fields)
    report.contract_id = number if kind == "contract" else None
    report.pilot_id = number if kind == "pilot" else None
    report.title = fields["title"].strip()
    report.stage = Stage(fields.get("stage") or "interim")
    report.period_start, report.period_end = fields["period_start"], fields["period_end"]
    report.summary = (fields.get("summary") or "").strip()
    report.recommendations = (fields.get("recommendations") or "").strip()


def create_report(actor: Any, fields: dict[str, Any]) -> EvaluationReport:
    _check(fields)
    report = EvaluationReport(created_by_id=getattr(actor, "id", None))
    _apply(report, fields)
    db.session.add(report)
    db.session.flush()
    audit.record_create(actor, report)
    return report


def update_report(
    actor: Any, report: EvaluationReport, fields: dict[str, Any], expected_version: int | None
) -> EvaluationReport:
    """Change a report; refused if someone else saved it since the form was opened."""
    if expected_version is not None and expected_version != report.version:
        raise StaleRecordError("evaluation report")
    _check(fields)
    before = audit.snapshot(report)
    _apply(report, fields)
    audit.record_update(actor, report, before)
    return report
