"""Two-factor authentication: time-based one-time codes (TOTP, RFC 6238) and recovery codes.

- The TOTP seed is stored encrypted (Fernet, with a key derived from SECRET_KEY), so a
  copy of the database alone does not yield anyone's codes.
- A code is accepted once: the time step it belongs to is remembered and a code from
  that step or an earlier one is refused (replay protection).
- Recovery codes are random, shown once, and stored only as hashes; each works once.

Like every service, these record audit events and flush; the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, session
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from pam.audit import services as audit
from pam.audit.models import utcnow
from pam.auth.models import RecoveryCode, User
from pam.core.exceptions import BusinessRuleError
from pam.extensions import db

ISSUER = "PAM"
RECOVERY_CODE_COUNT = 10
# Accept the code of the previous and the next 30-second step too: phone clocks drift.
_DRIFT_STEPS = 1
_TOTP_CODE = re.compile(r"^[0-9]{6}$")
_RECOVERY_CODE = re.compile(r"^[a-z0-9]{5}-?[a-z0-9]{5}$")
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"pam two-factor seed key:" + current_app.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _seed(user: User) -> str | None:
    if not user.totp_secret:
        return None
    try:
        return _fernet().decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed: the user must set up their app again
        return None


def is_enabled(user: User) -> bool:
    """Set up and confirmed. (If SECRET_KEY has changed since, the seed cannot be read:
    the user is still asked for a code, which then cannot succeed, and is told to ask an
    administrator for a reset; they never fall back to the password alone.)"""
    return user.two_factor_enabled_at is not None


def seed_unreadable(user: User) -> bool:
    return is_enabled(user) and _seed(user) is None


# --- setting up --------------------------------------------------------------------------

# The key being set up lives only in this browser's session (encrypted) until it is
# confirmed, so a key shown to someone else earlier can never become the user's.
_PENDING_SEED = "pam_two_factor_pending_seed"


def pending_seed(user: User) -> str:
    """The key being set up in this session, new the first time set-up is shown here."""
    stored = session.get(_PENDING_SEED)
    if isinstance(stored, dict) and stored.get("user") == user.id:
        try:
            return _fernet().decrypt(stored["seed"].encode()).decode()
        except (InvalidToken, KeyError, AttributeError):
            pass
    seed = pyotp.random_base32()
    session[_PENDING_SEED] = {"user": user.id, "seed": _fernet().encrypt(seed.encode()).decode()}
    return seed


def pending_set_up_of(user: User) -> dict:
    """This browser's key being set up, as stored, if it is the user's (else empty): a
    fresh password step keeps it, so an app added before a sign-in ran out still works."""
    stored = session.get(_PENDING_SEED)
    if isinstance(stored, dict) and stored.get("user") == user.id:
        return {_PENDING_SEED: stored}
    return {}


def provisioning_uri(user: User, seed: str) -> str:
    issuer = f"{ISSUER} ({current_app.config['PAM_ORGANISATION_NAME']})"
    return pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The set-up QR code as an SVG data URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#0b0c0c")


def confirm(user: User, code: str) -> list[str]:
    """Turn two-factor on once the user has typed a code from their app; returns the
    recovery codes, to be shown once. At sign-in, where the password has just been given;
    signed in, use confirm_with_password.

    Every session of the user ends (the caller starts or keeps this one under the new
    version): one opened with the password alone must not outlive two-factor."""
    if is_enabled(user):
        raise BusinessRuleError("Two-factor sign-in is already set up", field="code")
    seed = pending_seed(user)
    step = _matching_step(seed, _normalise(code))
    if step is None:
        raise BusinessRuleError(
            "That code is not right. Enter the 6-digit code your app shows now", field="code"
        )
    before = audit.snapshot(user)
    user.totp_secret = _fernet().encrypt(seed.encode()).decode()
    user.totp_last_step = step
    user.two_factor_enabled_at = utcnow()
    user.session_version += 1
    session.pop(_PENDING_SEED, None)
    codes = _replace_recovery_codes(user)
    audit.record_update(
        user, user, before, action="two_factor_on", summary="Set up two-factor sign-in"
    )
    return codes


def confirm_with_password(user: User, password: str | None, code: str) -> list[str]:
    """confirm(), for someone already signed in: their password first, so a session left
    open or stolen cannot enrol its own app and lock the owner out."""
    from pam.auth import services

    services.check_current_password(user, password)
    return confirm(user, code)


def new_recovery_codes(user: User) -> list[str]:
    """Replace the recovery codes (the old ones stop working). The caller has just
    checked a fresh code, and keeps its own session under the new version: every other
    session ends, so one that was stolen is cut off too."""
    codes = _replace_recovery_codes(user)
    user.session_version += 1
    audit.record(
        "recovery_codes_replaced", actor=user, target=user, summary="Replaced recovery codes"
    )
    return codes


def turn_off(actor: User, user: User, *, reason: str) -> None:
    """Remove the user's two-factor set-up and end their sessions. They set it up again
    at their next sign-in where their role requires it."""
    before = audit.snapshot(user)
    user.totp_secret = None
    user.totp_last_step = None
    user.two_factor_enabled_at = None
    for recovery in _recovery_codes(user):
        db.session.delete(recovery)
    user.session_version += 1
    audit.record_update(actor, user, before, action="two_factor_off", summary=reason)


# --- checking a code ----------------------------------------------------------------------


APP = "authenticator app"
RECOVERY = "recovery code"
WRONG_CODE = "That code is not right. Enter the code your app shows now, or an unused recovery code"
USED_CODE = "That code has already been used. Wait for your app to show a new code, then enter it"
UNREADABLE = (
    "Your two-factor set-up can no longer be read (the portal's key has changed). "
    "Ask your PAM administrator to reset your two-factor sign-in"
)


def verify(user: User, code: str | None) -> tuple[str | None, str | None]:
    """Check a code from the app or a recovery code; each is good once, even when two
    requests bring the same code at the same moment (the claim is one conditional UPDATE).

    Returns (APP or RECOVERY, None) on success, else (None, a message for the user).
    """
    typed = _normalise(code)
    if not is_enabled(user):
        return None, WRONG_CODE
    seed = _seed(user)
    if seed is None:
        return None, UNREADABLE
    if _TOTP_CODE.match(typed):
        step = _matching_step(seed, typed)
        if step is not None:
            return (APP, None) if _claim_step(user, step) else (None, USED_CODE)
    if _RECOVERY_CODE.match(typed) and _use_recovery_code(user, typed.replace("-", "")):
        return RECOVERY, None
    return None, WRONG_CODE


def check(
    user: User, code: str | None, address: str | None, *, signed_in: bool = False
) -> tuple[str | None, str | None]:
    """verify(), with wrong codes counted towards a lockout like wrong passwords.

    At sign-in the count is the account's and the address's. For someone already signed
    in (confirming a decision, say) it is their own step-up count, so strangers failing
    to sign in as them cannot stop them working. A reused code is not counted: it is
    what a real user types just after signing in. A right code clears the count, as a
    completed sign-in does.
    """
    from pam.auth import services

    if signed_in:
        account = address = f"step-up:{user.id}"
    else:
        account = user.email
    wait = services.lockout_seconds(account, address)
    if wait:
        return None, services.lockout_message(wait)
    how, problem = verify(user, code)
    if how:
        services.forget_failures(account)
    elif problem == WRONG_CODE:
        services.record_failure(account, address, user, "wrong second-factor code")
    return how, problem


def _normalise(code: str | None) -> str:
    """A code as PAM compares it, at set-up and at sign-in alike: apps show "123 456" and
    people copy recovery codes with spaces or in capitals."""
    return re.sub(r"\s", "", code or "").lower()


def _matching_step(seed: str, code: str) -> int | None:
    """The 30-second step (now, or one either side for clock drift) the code belongs to."""
    if not _TOTP_CODE.match(code or ""):
        return None
    totp = pyotp.TOTP(seed)
    now_step = int(time.time()) // totp.interval
    for step in range(now_step - _DRIFT_STEPS, now_step + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    """Record the step as used, only if it is later than the last one (atomically)."""
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        set_committed_value(user, "totp_last_step", step)
    return bool(claimed)


def _code_hash(user: User, code: str) -> str:
    # Recovery codes carry 50 bits of randomness, so a keyed fast hash is enough; the
    # user id as salt stops one table lookup serving every user.
    key = current_app.secret_key.encode()
    return hmac.new(key, f"{user.id}:{code}".encode(), hashlib.sha256).hexdigest()


def _recovery_codes(user: User) -> list[RecoveryCode]:
    return list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)))


def _replace_recovery_codes(user: User) -> list[str]:
    for old in _recovery_codes(user):
        db.session.delete(old)
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(user, raw)))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(user, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not used:
        return False
    audit.record(
        "recovery_code_used",
        actor=user,
        target=user,
        summary=f"Used a recovery code ({recovery_codes_left(user)} left)",
    )
    return True


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
