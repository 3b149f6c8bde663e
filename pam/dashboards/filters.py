"""The dashboard filters: read from the URL (so a view can be bookmarked and shared),
checked, and turned into SQL conditions on contracts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from pam.contracts.models import Contract, contract_areas
from pam.core.forms import whole_number
from pam.core.periods import FinancialYear
from pam.extensions import db
from pam.providers.models import Area, Organisation, OrganisationKind, ServiceCategory


@dataclass(frozen=True)
class Filters:
    year: FinancialYear
    quarter: int | None = None
    area_id: int | None = None
    service_id: int | None = None
    provider_id: int | None = None
    measure: str | None = None

    @classmethod
    def from_args(cls, args: Any, today: date) -> tuple[Filters, list[str]]:
        """The filters a URL asks for, and a message for each value that made no sense
        (it is ignored rather than failing the page)."""
        problems: list[str] = []
        year = FinancialYear.containing(today)
        if args.get("year"):
            try:
                year = supported_year(args["year"])
            except ValueError:
                problems.append(f"'{args['year'][:20]}' is not a financial year like 2025/26")
        quarter = _choice(args.get("quarter"), {"1", "2", "3", "4"}, "quarter", problems)
        filters = cls(
            year=year,
            quarter=int(quarter) if quarter else None,
            area_id=_whole(args.get("area"), "area", problems),
            service_id=_whole(args.get("service"), "service", problems),
            provider_id=_whole(args.get("provider"), "provider", problems),
            measure=(args.get("measure") or "").strip().upper()[:20] or None,
        )
        return filters, problems

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """The URL arguments for these filters (with any changes), leaving out the unset."""
        chosen = replace(self, **changes) if changes else self
        args = {
            "year": chosen.year.label.replace("/", "-"),
            "quarter": chosen.quarter,
            "area": chosen.area_id,
            "service": chosen.service_id,
            "provider": chosen.provider_id,
            "measure": chosen.measure,
        }
        return {key: value for key, value in args.items() if value}

    @property
    def contracts_key(self) -> tuple[int | None, int | None, int | None]:
        """What chooses the contracts (area, service, provider): part of a cache's key."""
        return (self.area_id, self.service_id, self.provider_id)

    @property
    def narrows_contracts(self) -> bool:
        return any((self.area_id, self.service_id, self.provider_id))

    def contract_conditions(self) -> list[Any]:
        """SQL conditions on Contract for the area, service and provider chosen."""
        conditions = []
        if self.provider_id:
            conditions.append(Contract.provider_id == self.provider_id)
        if self.service_id:
            conditions.append(Contract.service_category_id == self.service_id)
        if self.area_id:
            conditions.append(
                Contract.id.in_(
                    select(contract_areas.c.contract_id).where(
                        contract_areas.c.area_id == self.area_id
                    )
                )
            )
        return conditions

    @property
    def quarters(self) -> list[int]:
        return [self.quarter] if self.quarter else [1, 2, 3, 4]


def supported_year(text: str) -> FinancialYear:
    """A financial year PAM can report on ('2025/26' or '2025-26'): 2000/01 to 2098/99."""
    year = FinancialYear.parse(text.replace("-", "/"))
    if not 2000 <= year.start_year <= 2098:
        raise ValueError(f"'{text}' is outside the years PAM reports on")
    return year


def _whole(raw: str | None, name: str, problems: list[str]) -> int | None:
    if not raw:
        return None
    number = whole_number(raw)  # ASCII digits only: "²" is a digit to str.isdigit
    if number is not None:
        return number
    problems.append(f"The {name} filter '{raw[:40]}' was not recognised and is ignored")
    return None


def _choice(raw: str | None, allowed: set[str], name: str, problems: list[str]) -> str | None:
    if not raw:
        return None
    if raw in allowed:
        return raw
    problems.append(f"The {name} filter '{raw[:40]}' was not recognised and is ignored")
    return None


def filter_options() -> dict[str, list[tuple[int, str]]]:
    """The choices offered for each filter (reference data: small, three statements)."""
    return {
        "areas": db.session.execute(select(Area.id, Area.name).order_by(Area.name)).all(),
        "services": db.session.execute(
            select(ServiceCategory.id, ServiceCategory.name).order_by(ServiceCategory.name)
        ).all(),
        "providers": db.session.execute(
            select(Organisation.id, Organisation.name)
            .where(Organisation.kind != OrganisationKind.OPCC)
            .where(Organisation.id.in_(select(Contract.provider_id)))
            .order_by(Organisation.name)
        ).all(),
    }


def year_choices(today: date, back: int = 4) -> list[FinancialYear]:
    year = FinancialYear.containing(today)
    years = [year]
    for _ in range(back):
        year = year.previous()
        years.append(year)
    return years
