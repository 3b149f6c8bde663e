"""Writing, evidencing and publishing market assessments (each change audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pam.audit import services as audit
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.core.periods import today_in_uk
from pam.extensions import db
from pam.market.models import (
    SECTIONS,
    AssessmentStatus,
    Consultation,
    MarketAssessment,
    PublishedAssessment,
)
from pam.providers.models import Area, Organisation, OrganisationKind, ServiceCategory


def _apply(assessment: MarketAssessment, fields: dict[str, Any], area_ids: list[int]) -> None:
    title = (fields.get("title") or "").strip()
    if not title:
        raise BusinessRuleError("Enter a title", field="title")
    service = db.session.get(ServiceCategory, fields.get("service_category_id") or 0)
    if service is None:
        raise BusinessRuleError("Select the service", field="service_category_id")
    areas = db.session.scalars(select(Area).where(Area.id.in_(area_ids or []))).all()
    if not areas:
        raise BusinessRuleError("Select at least one area", field="areas")
    demand = fields.get("estimated_annual_demand")
    if demand is not None and demand < 0:
        raise BusinessRuleError("The demand estimate must be 0 or more", "estimated_annual_demand")
    assessment.title = title
    assessment.service_category = service
    assessment.areas = list(areas)
    assessment.estimated_annual_demand = demand
    for key in SECTIONS:
        setattr(assessment, key, (fields.get(key) or "").strip())


def create_assessment(actor: Any, fields: dict[str, Any], area_ids: list[int]) -> MarketAssessment:
    assessment = MarketAssessment(author_id=getattr(actor, "id", None))
    _apply(assessment, fields, area_ids)
    db.session.add(assessment)
    audit.record_create(actor, assessment)
    return assessment


def update_assessment(
    actor: Any,
    assessment: MarketAssessment,
    fields: dict[str, Any],
    area_ids: list[int],
    expected_version: int | None,
) -> MarketAssessment:
    """Edit the working copy; a published assessment becomes a draft of its next version."""
    if expected_version is not None and expected_version != assessment.version:
        raise StaleRecordError("assessment")
    before = audit.snapshot(assessment)
    _apply(assessment, fields, area_ids)
    assessment.status = AssessmentStatus.DRAFT
    audit.record_update(actor, assessment, before)
    return assessment


def add_consultation(
    actor: Any, assessment: MarketAssessment, fields: dict[str, Any]
) -> Consultation:
    for key, message in (
        ("stakeholders", "Say who was consulted"),
        ("method", "Say how they were consulted"),
        ("what_they_said", "Say what they said"),
    ):
        if not (fields.get(key) or "").strip():
            raise BusinessRuleError(message, field=key)
    if fields.get("held_on") is None:
        raise BusinessRuleError("Enter when it happened", field="held_on")
    if fields["held_on"] > today_in_uk():
        raise BusinessRuleError("A consultation cannot be in the future", field="held_on")
    consultation = Consultation(
        assessment=assessment,
        stakeholders=fields["stakeholders"].strip(),
        method=fields["method"].strip(),
        held_on=fields["held_on"],
        what_they_said=fields["what_they_said"].strip(),
        what_changed=(fields.get("what_changed") or "").strip(),
    )
    db.session.add(consultation)
    audit.record_create(actor, consultation)
    if assessment.status == AssessmentStatus.PUBLISHED:
        before = audit.snapshot(assessment)
        assessment.status = AssessmentStatus.DRAFT
        audit.record_update(actor, assessment, before, summary="New evidence: back to draft")
    return consultation


def publish(actor: Any, assessment: MarketAssessment, change_note: str) -> PublishedAssessment:
    """Freeze the working copy as the next published version."""
    if assessment.status == AssessmentStatus.PUBLISHED:
        raise BusinessRuleError("Nothing has changed since the last published version")
    missing = [label for key, label in SECTIONS.items() if not getattr(assessment, key)]
    if missing:
        raise BusinessRuleError(f"Before publishing, complete: {'; '.join(missing)}")
    if not assessment.consultations:
        raise BusinessRuleError(
            "Before publishing, record the co-production evidence: who was consulted"
        )
    if assessment.published_versions and not (change_note or "").strip():
        raise BusinessRuleError("Say what changed since the last version", field="change_note")
    db.session.flush()
    version = PublishedAssessment(
        assessment=assessment,
        number=len(assessment.published_versions) + 1,
        content=assessment.snapshot(),
        change_note=(change_note or "First version").strip(),
        published_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    before = audit.snapshot(assessment)
    assessment.status = AssessmentStatus.PUBLISHED
    audit.record_create(actor, version, summary=f"Published version {version.number}")
    audit.record_update(actor, assessment, before, action="publish")
    return version


def supply_map(assessment: MarketAssessment) -> list[dict[str, Any]]:
    """Who provides the assessed service in each assessed area (from provider profiles)."""
    rows = []
    for area in assessment.areas:
        providers = db.session.scalars(
            select(Organisation)
            .where(
                Organisation.kind != OrganisationKind.OPCC,
                Organisation.is_active.is_(True),
                Organisation.areas.any(Area.id == area.id),
                Organisation.service_categories.any(
                    ServiceCategory.id == assessment.service_category_id
                ),
            )
            .order_by(Organisation.name)
        ).all()
        rows.append({"area": area, "providers": providers})
    return rows
