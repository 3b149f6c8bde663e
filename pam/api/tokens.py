"""Making, listing, revoking and checking API tokens (see pam.api.models for the format)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from pam.api.models import ApiToken, Scope
from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.auth.models import User
from pam.auth.permissions import token_scopes_allowed
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import as_utc
from pam.extensions import db

LIFETIMES_DAYS = (30, 90, 180, 365)
_TOKEN = re.compile(r"^pam_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    actor: User, name: str, scopes: set[Scope], lifetime_days: int, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token acting as `actor`; returns it and the token text, shown only now."""
    name = (name or "").strip()
    if not name:
        raise BusinessRuleError(
            "Give the token a name, such as the system that will use it", "name"
        )
    allowed = token_scopes_allowed(actor)
    if not allowed:
        raise BusinessRuleError("Your role cannot have API tokens")
    if not scopes:
        raise BusinessRuleError("Choose what the token may do", "scopes")
    if not scopes <= allowed:
        raise BusinessRuleError("Your role cannot give a token that permission", "scopes")
    if lifetime_days not in LIFETIMES_DAYS:
        raise BusinessRuleError("Choose how long the token lasts", "lifetime_days")
    prefix = secrets.token_hex(6)
    text = f"pam_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name,
        prefix=prefix,
        token_hash=_hash(text),
        scopes=" ".join(sorted(scope.value for scope in scopes)),
        user_id=actor.id,
        organisation_id=actor.organisation_id if actor.is_provider else None,
        expires_at=(now or utcnow()) + timedelta(days=lifetime_days),
    )
    db.session.add(token)
    audit.record_create(actor, token, summary=f"API token created: {token.scopes}")
    return token, text


def tokens_visible_to(user: User) -> list[ApiToken]:
    """A provider administrator sees the organisation's tokens; anyone else their own."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user.is_provider and user.is_organisation_admin:
        query = query.where(ApiToken.organisation_id == user.organisation_id)
    else:
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))


def revoke_token(actor: User, token: ApiToken) -> None:
    if token not in tokens_visible_to(actor):
        raise BusinessRuleError("That token is not yours to revoke")
    if token.revoked_at is not None:
        return
    before = audit.snapshot(token)
    token.revoked_at = utcnow()
    token.revoked_by_id = actor.id
    audit.record_update(actor, token, before, action="revoke", summary="API token revoked")


def authenticate(header: str | None, now: datetime | None = None) -> tuple[ApiToken | None, str]:
    """(the token, "") for a usable `Authorization: Bearer` header, else (None, why not).

    The reasons are for the API's 401 answer; none says whether a token exists."""
    kind, _, text = (header or "").partition(" ")
    if kind.lower() != "bearer" or not text.strip():
        return None, "Send an API token: Authorization: Bearer pam_..."
    match = _TOKEN.match(text.strip())
    token = (
        db.session.scalar(select(ApiToken).where(ApiToken.prefix == match.group(1)))
        if match
        else None
    )
    if token is None or not hmac.compare_digest(token.token_hash, _hash(text.strip())):
        return None, "The API token is not valid"
    unusable = why_unusable(token, now)
    return (None, unusable) if unusable else (token, "")


def why_unusable(token: ApiToken, now: datetime | None = None) -> str:
    """Why a genuine token may not be used now ("" when it may). The token acts as its
    maker, so it stops when they can no longer give it what it has: deactivated, moved to
    another organisation, or no longer allowed its scopes."""
    if token.revoked_at is not None or as_utc(token.expires_at) <= (now or utcnow()):
        return "The API token has been revoked or has expired: make a new one"
    user = token.user
    organisation = user.organisation_id if user.is_provider else None
    if (
        not user.is_active_account
        or token.organisation_id != organisation
        or not token.scope_set <= token_scopes_allowed(user)
    ):
        return "The API token's maker can no longer give it this access: make a new one"
    return ""


def status(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked_at is not None:
        return "Revoked"
    if as_utc(token.expires_at) <= (now or utcnow()):
        return "Expired"
    return "No longer valid" if why_unusable(token, now) else "Active"
