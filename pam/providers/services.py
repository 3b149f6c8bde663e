"""Changing organisations, contacts and reference data. Each change records an audit event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pam.audit import services as audit
from pam.auth.models import User
from pam.core.exceptions import BusinessRuleError, StaleRecordError
from pam.extensions import db
from pam.providers.models import Area, Contact, Organisation, OrganisationKind, ServiceCategory

# Fields a provider user may change on their own organisation's profile.
PROVIDER_EDITABLE = (
    "charity_number",
    "company_number",
    "address",
    "postcode",
    "website",
    "email",
    "phone",
    "safeguarding_lead_name",
    "safeguarding_lead_email",
    "has_quality_mark",
    "quality_mark_expires_on",
)
OFFICER_EDITABLE = ("name", "kind", *PROVIDER_EDITABLE)


def _clean(value: Any) -> Any:
    return value.strip() or None if isinstance(value, str) else value


def _check_name_free(name: str, except_id: int | None = None) -> None:
    clash = db.session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == name.strip().lower())
    )
    if clash is not None and clash.id != except_id:
        raise BusinessRuleError("An organisation with this name already exists", field="name")


def _reference_items(model, ids: list[int] | None) -> list:
    if not ids:
        return []
    items = db.session.scalars(select(model).where(model.id.in_(ids))).all()
    if len(items) != len(set(ids)):
        raise BusinessRuleError("One of the selected items no longer exists: reload the page")
    return list(items)


def _apply(organisation: Organisation, fields: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in allowed:
        if key in fields:
            setattr(organisation, key, _clean(fields[key]))
    organisation.address = organisation.address or ""  # the one text column that is never null
    if organisation.postcode:
        organisation.postcode = organisation.postcode.upper()
    if not organisation.has_quality_mark:
        organisation.quality_mark_expires_on = None


def create_organisation(
    actor: User | None,
    fields: dict[str, Any],
    area_ids: list[int] | None = None,
    service_category_ids: list[int] | None = None,
) -> Organisation:
    """Add a provider (or, from the CLI/demo, the OPCC itself)."""
    name = (fields.get("name") or "").strip()
    if not name:
        raise BusinessRuleError("Enter the organisation's name", field="name")
    _check_name_free(name)
    organisation = Organisation(name=name, kind=OrganisationKind(fields["kind"]), address="")
    _apply(organisation, fields, OFFICER_EDITABLE)
    organisation.areas = _reference_items(Area, area_ids)
    organisation.service_categories = _reference_items(ServiceCategory, service_category_ids)
    db.session.add(organisation)
    audit.record_create(actor, organisation)
    return organisation


def update_organisation(
    actor: User,
    organisation: Organisation,
    fields: dict[str, Any],
    *,
    expected_version: int | None,
    area_ids: list[int] | None,
    service_category_ids: list[int] | None,
    by_provider: bool = False,
) -> Organisation:
    """Save an edit. A provider user changes only their profile fields; a stale form is refused."""
    if expected_version is not None and expected_version != organisation.version:
        raise StaleRecordError("organisation")
    before = audit.snapshot(organisation)
    allowed = PROVIDER_EDITABLE if by_provider else OFFICER_EDITABLE
    if "name" in allowed and fields.get("name"):
        _check_name_free(fields["name"], except_id=organisation.id)
    _apply(organisation, fields, allowed)
    organisation.areas = _reference_items(Area, area_ids)
    organisation.service_categories = _reference_items(ServiceCategory, service_category_ids)
    audit.record_update(
        actor,
        organisation,
        before,
        summary="Profile updated by the provider" if by_provider else "",
    )
    return organisation


def set_organisation_active(actor: User, organisation: Organisation, active: bool) -> Organisation:
    """Archive or restore a provider. Its records stay; its users cannot sign in while archived."""
    if organisation.kind == OrganisationKind.OPCC:
        raise BusinessRuleError("The OPCC itself cannot be archived")
    before = audit.snapshot(organisation)
    organisation.is_active = active
    for user in organisation.users:
        if user.is_active_account and not active:
            user_before = audit.snapshot(user)
            user.is_active_account = False
            user.session_version += 1
            audit.record_update(
                actor,
                user,
                user_before,
                action="deactivate",
                summary=f"Deactivated: {organisation.name} archived",
            )
    audit.record_update(actor, organisation, before, action="restore" if active else "archive")
    return organisation


# --- contacts -----------------------------------------------------------------------


def _only_primary(actor: User, contact: Contact) -> None:
    """At most one main contact per organisation: choosing one demotes the others."""
    if not contact.is_primary:
        return
    for other in contact.organisation.contacts:
        if other is not contact and other.is_primary:
            before = audit.snapshot(other)
            other.is_primary = False
            audit.record_update(actor, other, before, summary="No longer the main contact")


def add_contact(actor: User, organisation: Organisation, fields: dict[str, Any]) -> Contact:
    contact = Contact(organisation=organisation, **{k: _clean(v) for k, v in fields.items()})
    db.session.add(contact)
    _only_primary(actor, contact)
    audit.record_create(actor, contact)
    return contact


def update_contact(actor: User, contact: Contact, fields: dict[str, Any]) -> Contact:
    before = audit.snapshot(contact)
    for key, value in fields.items():
        setattr(contact, key, _clean(value))
    _only_primary(actor, contact)
    audit.record_update(actor, contact, before)
    return contact


def delete_contact(actor: User, contact: Contact) -> None:
    audit.record_delete(actor, contact)
    contact.organisation.contacts.remove(contact)
    db.session.delete(contact)


# --- reference data -------------------------------------------------------------------


def save_reference_item(actor: User, model, item, fields: dict[str, Any]):
    """Create (item None) or update an area or service category; codes and names are unique."""
    code = fields["code"].strip().upper()
    name = fields["name"].strip()
    for column, value, label in ((model.code, code, "code"), (model.name, name, "name")):
        clash = db.session.scalar(select(model).where(func.lower(column) == value.lower()))
        if clash is not None and clash is not item:
            raise BusinessRuleError(f"That {label} is already used", field=label)
    creating = item is None
    before = {} if creating else audit.snapshot(item)
    if creating:
        item = model()
        db.session.add(item)
    item.code, item.name = code, name
    item.is_active = bool(fields.get("is_active", True))
    if hasattr(item, "description"):
        item.description = (fields.get("description") or "").strip()
    if creating:
        audit.record_create(actor, item)
    else:
        audit.record_update(actor, item, before)
    return item
