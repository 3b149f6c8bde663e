"""Who may do what: the only place in PAM that knows.

Views ask `can(user, Permission.X)` or use `@require(Permission.X)`; object-level rules
(a provider user reaches only their own organisation's records) live here too, as
`can_view_organisation` and friends, and as query scopes used where data is read.

A refusal is a 404 for provider users, so that a record they may not see looks exactly
like one that does not exist, and a 403 for OPCC staff, who know the record exists.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from pam.auth.models import Role, User


class Permission(enum.StrEnum):
    """Things a role may be allowed to do."""

    MANAGE_USERS = "manage_users"
    MANAGE_REFERENCE_DATA = "manage_reference_data"
    VIEW_ALL_ORGANISATIONS = "view_all_organisations"
    MANAGE_ORGANISATIONS = "manage_organisations"
    EDIT_OWN_ORGANISATION = "edit_own_organisation"
    VIEW_AUDIT = "view_audit"
    VIEW_ALL_CONTRACTS = "view_all_contracts"
    MANAGE_CONTRACTS = "manage_contracts"
    VIEW_OWN_CONTRACTS = "view_own_contracts"
    MANAGE_DICTIONARY = "manage_dictionary"
    SUBMIT_RETURNS = "submit_returns"
    VIEW_DECISIONS = "view_decisions"
    DRAFT_DECISIONS = "draft_decisions"
    DECIDE_FUNDING = "decide_funding"
    MANAGE_BUDGETS = "manage_budgets"
    CLOSE_YEARS = "close_years"
    VIEW_MARKET = "view_market"
    MANAGE_MARKET = "manage_market"
    BID_FOR_TENDERS = "bid_for_tenders"
    VIEW_PROGRAMMES = "view_programmes"
    MANAGE_PROGRAMMES = "manage_programmes"
    REVIEW_RETURNS = "review_returns"
    VIEW_DASHBOARDS = "view_dashboards"
    # Figures before small-number suppression: OPCC staff only, never the boards.
    SEE_UNSUPPRESSED_FIGURES = "see_unsuppressed_figures"
    # Exports of unsuppressed returns data and funders' returns: OPCC staff. (The register
    # and decision log download wherever they can be read, boards included.)
    EXPORT_RECORDS = "export_records"


# The OPCC staff whose roles change things (access, contracts, public money), as against
# board members, who read.
OPCC_STAFF_WHO_ACT = frozenset({Role.ADMINISTRATOR, Role.OFFICER, Role.DECISION_MAKER})

_STAFF_READ = {
    Permission.VIEW_DASHBOARDS,
    Permission.VIEW_ALL_ORGANISATIONS,
    Permission.VIEW_ALL_CONTRACTS,
    Permission.VIEW_DECISIONS,
    Permission.VIEW_MARKET,
    Permission.VIEW_PROGRAMMES,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(
        {
            Permission.SEE_UNSUPPRESSED_FIGURES,
            Permission.EXPORT_RECORDS,
            Permission.MANAGE_USERS,
            Permission.MANAGE_REFERENCE_DATA,
            Permission.MANAGE_ORGANISATIONS,
            Permission.VIEW_AUDIT,
            *_STAFF_READ,
        }
    ),
    Role.OFFICER: frozenset(
        {
            Permission.SEE_UNSUPPRESSED_FIGURES,
            Permission.EXPORT_RECORDS,
            Permission.MANAGE_ORGANISATIONS,
            Permission.MANAGE_CONTRACTS,
            Permission.MANAGE_DICTIONARY,
            Permission.REVIEW_RETURNS,
            Permission.DRAFT_DECISIONS,
            Permission.MANAGE_BUDGETS,
            Permission.MANAGE_MARKET,
            Permission.MANAGE_PROGRAMMES,
            Permission.VIEW_AUDIT,
            *_STAFF_READ,
        }
    ),
    Role.DECISION_MAKER: frozenset(
        {
            Permission.SEE_UNSUPPRESSED_FIGURES,
            Permission.EXPORT_RECORDS,
            Permission.DECIDE_FUNDING,
            Permission.MANAGE_BUDGETS,
            Permission.CLOSE_YEARS,
            Permission.VIEW_AUDIT,
            *_STAFF_READ,
        }
    ),
    Role.BOARD_MEMBER: frozenset(_STAFF_READ),
    Role.PROVIDER: frozenset(
        {
            Permission.EDIT_OWN_ORGANISATION,
            Permission.VIEW_OWN_CONTRACTS,
            Permission.SUBMIT_RETURNS,
            Permission.BID_FOR_TENDERS,
        }
    ),
}


def can(user: Any, permission: Permission) -> bool:
    """True when the (signed-in, active) user's role grants the permission."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def refuse(user: Any) -> None:
    """Abort the request: 404 to a provider user (no hint the record exists), else 403."""
    abort(404 if getattr(user, "is_provider", False) else 403)


def require(*permissions: Permission) -> Callable:
    """View decorator: signed in, and holding every named permission."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not all(can(current_user, p) for p in permissions):
                refuse(current_user)
            return view(*args, **kwargs)

        wrapped.required_permissions = permissions  # read by the route-matrix test
        return wrapped

    return decorator


# --- object-level rules ----------------------------------------------------------


def can_view_organisation(user: User, organisation_id: int) -> bool:
    """Staff with the read permission see every organisation; a provider user, their own."""
    if can(user, Permission.VIEW_ALL_ORGANISATIONS):
        return True
    return user.is_provider and user.organisation_id == organisation_id


def can_edit_organisation(user: User, organisation_id: int) -> bool:
    """Officers and administrators edit any organisation; a provider user, their own profile."""
    if can(user, Permission.MANAGE_ORGANISATIONS):
        return True
    return (
        can(user, Permission.EDIT_OWN_ORGANISATION)
        and user.is_provider
        and user.organisation_id == organisation_id
    )


def can_view_contract(user: User, contract: Any) -> bool:
    """Staff see every contract; a provider user, their own organisation's (read-only)."""
    if can(user, Permission.VIEW_ALL_CONTRACTS):
        return True
    return (
        can(user, Permission.VIEW_OWN_CONTRACTS)
        and user.is_provider
        and user.organisation_id == contract.provider_id
    )


def can_submit_return(user: User, contract: Any) -> bool:
    """A provider user submits returns for their own organisation's contracts only."""
    return (
        can(user, Permission.SUBMIT_RETURNS)
        and user.is_provider
        and user.organisation_id == contract.provider_id
    )


def can_decide(user: User, decision: Any) -> bool:
    """Separation of duties: a decision maker decides, but never a decision they drafted
    or submitted themselves."""
    return can(user, Permission.DECIDE_FUNDING) and user.id not in (
        decision.drafted_by_id,
        decision.submitted_by_id,
    )


def scope_contracts(user: User, query: Any) -> Any:
    """Narrow a select() of contracts to those the user may see."""
    from sqlalchemy import false

    from pam.contracts.models import Contract

    if can(user, Permission.VIEW_ALL_CONTRACTS):
        return query
    if can(user, Permission.VIEW_OWN_CONTRACTS) and user.is_provider:
        return query.where(Contract.provider_id == user.organisation_id)
    return query.where(false())


def must_use_two_factor(user: User) -> bool:
    """Whether the user must set up and use two-factor sign-in. Where PAM_REQUIRE_TWO_FACTOR
    is off (the local demo), anyone may still turn it on for themselves."""
    from flask import current_app

    config = current_app.config
    if not config["PAM_REQUIRE_TWO_FACTOR"]:
        return False
    if user.role == Role.PROVIDER:
        return bool(config["PAM_REQUIRE_TWO_FACTOR_FOR_PROVIDERS"])
    # Roles that commit public money or administer access always use a second factor.
    return user.role in OPCC_STAFF_WHO_ACT


# OPCC staff who act on records may make read-only API tokens for their own scripts; a
# provider's administrator makes the organisation's tokens, which may also submit returns.
def token_scopes_allowed(user: User) -> frozenset:
    """The API token scopes the user may give (empty: no API tokens). A token acts as its
    maker, so the pages' rules above then decide what each call may reach."""
    from pam.api.models import Scope

    if not getattr(user, "is_active_account", False):
        return frozenset()
    if user.role == Role.PROVIDER:
        return frozenset(Scope) if user.is_organisation_admin else frozenset()
    return frozenset({Scope.READ}) if user.role in OPCC_STAFF_WHO_ACT else frozenset()


def can_change_user(actor: User, target: User) -> bool:
    """Administrators manage users, but not their own role or active state (no self lock-out)."""
    return can(actor, Permission.MANAGE_USERS) and actor.id != target.id


def navigation_for(user: Any) -> list[tuple[str, str]]:
    """The service navigation (label, endpoint) for the user's role."""
    if not getattr(user, "is_authenticated", False):
        return []
    items = [("Home", "core.home")]
    if can(user, Permission.VIEW_DASHBOARDS):
        items.append(("Dashboards", "dashboards.portfolio_page"))
    if can(user, Permission.VIEW_ALL_ORGANISATIONS):
        items.append(("Providers", "providers.index"))
    elif can(user, Permission.EDIT_OWN_ORGANISATION):
        items.append(("My organisation", "providers.mine"))
    if can(user, Permission.VIEW_ALL_CONTRACTS) or can(user, Permission.VIEW_OWN_CONTRACTS):
        items.append(("Contracts", "contracts.index"))
    if can(user, Permission.SUBMIT_RETURNS) or can(user, Permission.REVIEW_RETURNS):
        items.append(("Returns", "returns.index"))
    if can(user, Permission.VIEW_MARKET):
        items.append(("Market", "market.index"))
    if can(user, Permission.VIEW_MARKET) or can(user, Permission.BID_FOR_TENDERS):
        items.append(("Tenders", "tenders.index"))
    if can(user, Permission.VIEW_DECISIONS):
        items.append(("Decisions", "decisions.index"))
    if can(user, Permission.VIEW_PROGRAMMES):
        items.append(("Plan", "programmes.plan"))
    items.append(("Measures", "outcomes.metrics"))
    if can(user, Permission.VIEW_AUDIT):
        items.append(("Audit trail", "audit.index"))
    if can(user, Permission.MANAGE_USERS):
        items.append(("Users", "auth.users"))
    if can(user, Permission.MANAGE_REFERENCE_DATA):
        items.append(("Reference data", "providers.reference_data"))
    return items
