"""Signing in and out, and managing users. Every change records an audit event.

Services take the acting user, change state, record the event and flush. They never
commit: the view (or CLI command) commits once, so the change and its event are
durable together.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.auth.models import LoginFailure, PasswordLink, Role, User
from pam.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import as_utc
from pam.extensions import db
from pam.providers.models import Organisation, OrganisationKind

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=24)


# --- signing in ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a password check. `user` is set only when the password was right;
    `wait_seconds` is set when the account or address is locked out for now."""

    user: User | None
    wait_seconds: int = 0

    @property
    def throttled(self) -> bool:
        return self.wait_seconds > 0


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _lockout_seconds(column, value: str, limit: int) -> int:
    """Seconds until `value` may try again: none below `limit` failures in the window,
    then PAM_LOGIN_LOCKOUT_SECONDS after the latest, doubling with each further failure."""
    config = current_app.config
    since = utcnow() - timedelta(seconds=config["PAM_LOGIN_WINDOW_SECONDS"])
    count, latest = db.session.execute(
        select(func.count(LoginFailure.id), func.max(LoginFailure.occurred_at)).where(
            column == value, LoginFailure.occurred_at >= since
        )
    ).one()
    if count < limit:
        return 0
    delay = min(
        config["PAM_LOGIN_LOCKOUT_SECONDS"] * 2 ** min(count - limit, 20),
        config["PAM_LOGIN_LOCKOUT_MAX_SECONDS"],
    )
    remaining = (as_utc(latest) + timedelta(seconds=delay) - utcnow()).total_seconds()
    return max(0, math.ceil(remaining))


def _address(address: str | None) -> str:
    """The client address as failures are counted under it (the column holds 64)."""
    return (address or "unknown")[:64]


def lockout_seconds(account: str, address: str | None) -> int:
    """How long this account or this address must wait before another try (0: not locked).

    The failures are rows in the database, so every server process sees the same counts.
    """
    config = current_app.config
    return max(
        _lockout_seconds(
            LoginFailure.account, account, config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
        ),
        _lockout_seconds(
            LoginFailure.address, _address(address), config["PAM_LOGIN_MAX_FAILURES_PER_ADDRESS"]
        ),
    )


def lockout_message(wait_seconds: int) -> str:
    minutes = max(1, -(-wait_seconds // 60))
    return f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def check_password(email: str, password: str, address: str | None) -> SignInResult:
    """The first step of signing in: check the credentials and record a failure.

    The message shown is the same whatever went wrong, and an unknown address costs the
    same hashing work as a wrong password, so neither reveals whether an account exists.
    A locked-out attempt is not checked at all (and does not extend the lockout, so
    someone hammering an account cannot keep its owner out for longer than the cap).
    """
    account = normalise_email(email)[:254]
    wait = lockout_seconds(account, address)
    if wait:
        verify_password(None, password)  # same work as a real attempt
        audit.record(
            "login_failed",
            actor=None,
            actor_label=f"sign-in attempt as {account}",
            summary="Sign-in refused: locked out after too many failed attempts",
        )
        return SignInResult(None, wait_seconds=wait)

    user = db.session.scalar(select(User).where(User.email == account))
    password_ok = verify_password(user.password_hash if user else None, password)
    reason = None
    if user is None or not password_ok:
        reason = "wrong email address or password"
    elif not user.is_active_account:
        reason = "account deactivated"
    elif user.is_demo and not current_app.config["PAM_ALLOW_DEMO_LOGINS"]:
        reason = "demo accounts are refused in production"
    if reason:
        record_failure(account, address, user, reason)
        return SignInResult(None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return SignInResult(user)


def complete_sign_in(user: User, how: str) -> None:
    """The last step: record the sign-in and forget the account's failures."""
    user.last_login_at = utcnow()
    forget_failures(user.email)
    audit.record("login", actor=user, target=user, summary=f"Signed in ({how})")


def forget_failures(account: str) -> None:
    """A right answer wipes the account's slate: only failures since the last success
    count towards a lockout, so a few slips spread over a working day never lock anyone."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.account == account))


def record_failure(account: str, address: str | None, user: User | None, reason: str) -> None:
    """Count a failed attempt (password or second factor) against the account and address."""
    window = timedelta(seconds=current_app.config["PAM_LOGIN_WINDOW_SECONDS"])
    db.session.execute(delete(LoginFailure).where(LoginFailure.occurred_at < utcnow() - window))
    db.session.add(LoginFailure(account=account, address=_address(address)))
    audit.record(
        "login_failed",
        actor=None,
        actor_label=f"sign-in attempt as {account}",
        target=user,
        summary=f"Sign-in refused: {reason}",
    )


def sign_out(user: User) -> None:
    """Sign out everywhere: bumping the session version ends every session of the user."""
    user.session_version += 1
    audit.record("logout", actor=user, target=user, summary="Signed out of every session")


# --- managing users -----------------------------------------------------------------


def _provider_administrator(role: Role, ticked: bool) -> bool:
    """Only a provider user can administer a provider's API tokens: ticking it for OPCC
    staff is refused, not silently dropped."""
    if ticked and role != Role.PROVIDER:
        raise BusinessRuleError(
            "Only a provider user can be a provider administrator: untick it, or choose the "
            "provider user role",
            field="is_organisation_admin",
        )
    return bool(ticked)


def _check_role_and_organisation(role: Role, organisation_id: int | None) -> int | None:
    """Provider users need a provider organisation; OPCC staff belong to the OPCC."""
    if role == Role.PROVIDER:
        organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is None or not organisation.is_provider:
            raise BusinessRuleError(
                "Select the provider organisation this user belongs to", field="organisation_id"
            )
        return organisation.id
    opcc = db.session.scalar(select(Organisation).where(Organisation.kind == OrganisationKind.OPCC))
    return opcc.id if opcc else None


def _check_email_free(email: str, except_user_id: int | None = None) -> None:
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None and existing.id != except_user_id:
        raise BusinessRuleError("A user with this email address already exists", field="email")


def create_user(
    actor: User | None,
    *,
    email: str,
    full_name: str,
    role: Role,
    organisation_id: int | None = None,
    job_title: str | None = None,
    password: str | None = None,
    is_demo: bool = False,
    is_organisation_admin: bool = False,
) -> User:
    """Create a user. Without a password, they set one through an invitation link."""
    email = normalise_email(email)
    _check_email_free(email)
    user = User(
        email=email,
        full_name=full_name.strip(),
        job_title=(job_title or "").strip() or None,
        role=Role(role),
        organisation_id=_check_role_and_organisation(Role(role), organisation_id),
        is_demo=is_demo,
        is_organisation_admin=_provider_administrator(Role(role), is_organisation_admin),
        is_active_account=True,
        session_version=1,
    )
    if password is not None:
        _check_password(password, user)
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
    db.session.add(user)
    audit.record_create(actor, user, summary=f"Created user with role {user.role_label}")
    return user


def update_user(
    actor: User,
    user: User,
    *,
    full_name: str,
    email: str,
    job_title: str | None,
    role: Role,
    organisation_id: int | None,
    is_organisation_admin: bool = False,
) -> User:
    """Change a user's details. A change of role or organisation ends their sessions."""
    before = audit.snapshot(user)
    email = normalise_email(email)
    _check_email_free(email, except_user_id=user.id)
    role = Role(role)
    if actor.id == user.id and role != user.role:
        raise BusinessRuleError("You cannot change your own role", field="role")
    new_organisation_id = _check_role_and_organisation(role, organisation_id)
    if role != user.role or new_organisation_id != user.organisation_id:
        user.session_version += 1
    user.full_name, user.email = full_name.strip(), email
    user.job_title = (job_title or "").strip() or None
    user.role, user.organisation_id = role, new_organisation_id
    user.is_organisation_admin = _provider_administrator(role, is_organisation_admin)
    audit.record_update(actor, user, before)
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    """Deactivate (ending every session at once) or reactivate a user."""
    if actor.id == user.id:
        raise BusinessRuleError("You cannot deactivate your own account")
    if user.is_active_account == active:
        return user
    before = audit.snapshot(user)
    user.is_active_account = active
    user.session_version += 1
    audit.record_update(
        actor,
        user,
        before,
        action="reactivate" if active else "deactivate",
        summary="Reactivated" if active else "Deactivated: all sessions ended",
    )
    return user


def _new_link(user: User, purpose: str, lifetime: timedelta) -> str:
    """Create a one-time link for the user; returns the raw token (shown once, stored hashed)."""
    now = utcnow()
    for link in db.session.scalars(
        select(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
    ):
        link.used_at = now  # an older, unused link stops working
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordLink(
            user_id=user.id,
            token_hash=_token_hash(token),
            purpose=purpose,
            expires_at=now + lifetime,
        )
    )
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_user(actor: User | None, user: User) -> str:
    """An invitation link for a new user to set their password. Returns the raw token."""
    db.session.flush()
    token = _new_link(user, "invitation", INVITATION_LIFETIME)
    audit.record("invite", actor=actor, target=user, summary="Invitation link issued")
    return token


def reset_password(actor: User, user: User) -> str:
    """An administrator's reset: the old password stops working, sessions end, and a
    one-time link (returned) lets the user choose a new one."""
    before = audit.snapshot(user)
    user.password_hash = None
    user.session_version += 1
    token = _new_link(user, "reset", RESET_LIFETIME)
    audit.record_update(
        actor,
        user,
        before,
        action="password_reset",
        summary="Password reset by an administrator: old password and sessions revoked",
    )
    return token


def find_link(token: str) -> PasswordLink | None:
    """The usable link for a token, or None if unknown, used or expired."""
    link = db.session.scalar(
        select(PasswordLink).where(PasswordLink.token_hash == _token_hash(token))
    )
    if link is None or link.used_at is not None:
        return None
    if as_utc(link.expires_at) < utcnow() or not link.user.is_active_account:
        return None
    return link


def _check_password(password: str, user: User, field: str = "password") -> None:
    problems = password_problems(password, email=user.email, name=user.full_name)
    if problems:
        raise BusinessRuleError(problems[0], field=field)


def set_password_from_link(link: PasswordLink, password: str) -> User:
    """Set the password chosen through an invitation or reset link; the link is used up."""
    user = link.user
    _check_password(password, user)
    before = audit.snapshot(user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    link.used_at = utcnow()
    audit.record_update(
        user, user, before, action="password_set", summary=f"Password set ({link.purpose} link)"
    )
    return user


def current_password_problem(user: User, password: str | None) -> str | None:
    """Check a signed-in user's password before a change to their own sign-in, counting a
    wrong one towards their step-up lockout (the one wrong second-factor codes count
    towards), so an open session cannot try passwords without limit. The caller commits
    even when refusing: the count must outlive the refused change."""
    account = f"step-up:{user.id}"
    wait = lockout_seconds(account, account)
    if wait:
        verify_password(None, password or "")  # the same work either way
        return lockout_message(wait)
    if verify_password(user.password_hash, password or ""):
        return None
    record_failure(account, account, user, "wrong current password")
    return "Your current password is not right"


def check_current_password(user: User, password: str | None) -> None:
    """Refuse a change to a signed-in user's own sign-in unless they give their password:
    an open session alone is not proof enough that it is them."""
    if not verify_password(user.password_hash, password or ""):
        raise BusinessRuleError("Your current password is not right", field="current_password")


def change_password(user: User, current_password: str, new_password: str) -> User:
    """A signed-in user changes their own password; their other sessions end."""
    check_current_password(user, current_password)
    _check_password(new_password, user, field="new_password")
    before = audit.snapshot(user)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    audit.record_update(
        user, user, before, action="password_change", summary="Changed own password"
    )
    return user
