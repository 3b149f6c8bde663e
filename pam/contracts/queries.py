"""Reading the contract register: filters, search and sort, always scoped to the reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from pam.auth.permissions import scope_contracts
from pam.contracts.models import EXPIRY_WARNING_DAYS, ComplianceItem, Contract, ContractStatus
from pam.core.forms import whole_number
from pam.providers.models import Area, Organisation

# Sort keys offered in the register: (label, column).
SORT_COLUMNS = {
    "reference": ("Reference", Contract.reference),
    "title": ("Title", Contract.title),
    "provider": ("Provider", Organisation.name),
    "end": ("End date", Contract.end_on),
    "value": ("Total value", Contract.total_value),
}
ENDING_CHOICES = (3, 6, 12)


def _int_or_none(value: str | None) -> int | None:
    return whole_number(value)


@dataclass(frozen=True)
class RegisterFilters:
    """What the register is narrowed to, read from the query string (nonsense ignored)."""

    status: str = "open"
    provider_id: int | None = None
    service_id: int | None = None
    area_id: int | None = None
    ending_within_months: int | None = None
    compliance_expiring: bool = False
    search: str = ""
    sort: str = "reference"
    descending: bool = False

    @classmethod
    def from_args(cls, args: Any) -> RegisterFilters:
        status = args.get("status", "open")
        if status not in {"open", "all", *(s.value for s in ContractStatus)}:
            status = "open"
        ending = _int_or_none(args.get("ending"))
        sort = args.get("sort", "reference")
        return cls(
            status=status,
            provider_id=_int_or_none(args.get("provider")),
            service_id=_int_or_none(args.get("service")),
            area_id=_int_or_none(args.get("area")),
            ending_within_months=ending if ending in ENDING_CHOICES else None,
            compliance_expiring=args.get("compliance") == "expiring",
            search=(args.get("q") or "").strip()[:100],
            sort=sort if sort in SORT_COLUMNS else "reference",
            descending=args.get("dir") == "desc",
        )


def register_query(user: Any, filters: RegisterFilters, today: date) -> Select:
    """The contracts the user may see that match the filters, sorted, with what each row
    shows (provider, service, compliance) loaded alongside: a page costs the same few
    statements however many providers and services its rows have."""
    query = (
        select(Contract)
        .join(Contract.provider)
        .options(
            selectinload(Contract.provider),
            selectinload(Contract.service_category),
            selectinload(Contract.compliance_items),
        )
    )
    query = scope_contracts(user, query)
    if filters.status == "open":
        query = query.where(Contract.status.in_([ContractStatus.MOBILISING, ContractStatus.LIVE]))
    elif filters.status != "all":
        query = query.where(Contract.status == ContractStatus(filters.status))
    if filters.provider_id:
        query = query.where(Contract.provider_id == filters.provider_id)
    if filters.service_id:
        query = query.where(Contract.service_category_id == filters.service_id)
    if filters.area_id:
        query = query.where(Contract.areas.any(Area.id == filters.area_id))
    if filters.ending_within_months:
        horizon = today + timedelta(days=round(filters.ending_within_months * 30.44))
        query = query.where(Contract.end_on >= today, Contract.end_on <= horizon)
    if filters.compliance_expiring:
        warning = today + timedelta(days=EXPIRY_WARNING_DAYS)
        query = query.where(
            Contract.compliance_items.any(
                and_(ComplianceItem.expires_on.is_not(None), ComplianceItem.expires_on <= warning)
            )
        )
    if filters.search:
        pattern = f"%{filters.search}%"
        query = query.where(
            or_(
                Contract.reference.ilike(pattern),
                Contract.title.ilike(pattern),
                Organisation.name.ilike(pattern),
            )
        )
    column = SORT_COLUMNS[filters.sort][1]
    order = column.desc() if filters.descending else column.asc()
    return query.order_by(order, Contract.reference)
