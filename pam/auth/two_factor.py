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
from flask import current_app
from sqlalchemy import select

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
    return user.two_factor_enabled_at is not None and _seed(user) is not None


# --- setting up --------------------------------------------------------------------------


def pending_seed(user: User) -> str:
    """The seed being set up (created on first call; kept until it is confirmed)."""
    if user.two_factor_enabled_at is None and _seed(user) is None:
        user.totp_secret = _fernet().encrypt(pyotp.random_base32().encode()).decode()
        user.totp_last_step = None
        audit.record(
            "two_factor_set_up_started",
            actor=user,
            target=user,
            summary="Started setting up two-factor sign-in (new key shown)",
        )
    return _seed(user)


def provisioning_uri(user: User, seed: str) -> str:
    issuer = f"{ISSUER} ({current_app.config['PAM_ORGANISATION_NAME']})"
    return pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The set-up QR code as an SVG data URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#0b0c0c")


def confirm(user: User, code: str) -> list[str]:
    """Turn two-factor on once the user has typed a code from their app; returns the
    recovery codes, to be shown once."""
    if user.two_factor_enabled_at is not None:
        raise BusinessRuleError("Two-factor authentication is already set up", field="code")
    seed = pending_seed(user)
    if not _accept_totp(user, seed, code):
        raise BusinessRuleError(
            "That code is not right. Enter the 6-digit code your app shows now", field="code"
        )
    user.two_factor_enabled_at = utcnow()
    codes = _replace_recovery_codes(user)
    audit.record("two_factor_on", actor=user, target=user, summary="Set up two-factor sign-in")
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the recovery codes (the old ones stop working). The caller has just
    checked a fresh code."""
    codes = _replace_recovery_codes(user)
    audit.record(
        "recovery_codes_replaced", actor=user, target=user, summary="Replaced recovery codes"
    )
    return codes


def turn_off(actor: User, user: User, *, reason: str) -> None:
    """Remove the user's two-factor set-up and end their sessions. They set it up again
    at their next sign-in where their role requires it."""
    user.totp_secret = None
    user.totp_last_step = None
    user.two_factor_enabled_at = None
    for recovery in _recovery_codes(user):
        db.session.delete(recovery)
    user.session_version += 1
    audit.record("two_factor_off", actor=actor, target=user, summary=reason)


# --- checking a code ----------------------------------------------------------------------


def verify(user: User, code: str | None) -> str | None:
    """Check a code from the app or a recovery code; each is good once.

    Returns how the user proved it ("authenticator app" or "recovery code") or None.
    """
    typed = re.sub(r"[\s]", "", code or "").lower()
    seed = _seed(user)
    if user.two_factor_enabled_at is None or seed is None:
        return None
    if _TOTP_CODE.match(typed) and _accept_totp(user, seed, typed):
        return "authenticator app"
    if _RECOVERY_CODE.match(typed) and _use_recovery_code(user, typed.replace("-", "")):
        return "recovery code"
    return None


WRONG_CODE = "That code is not right. Enter the code your app shows now, or an unused recovery code"


def check(user: User, code: str | None, address: str | None) -> tuple[str | None, str | None]:
    """verify(), counted like a password: a wrong code is a failed attempt against the
    account and address, and a locked-out account is not checked at all.

    Returns (how, None) on success and (None, message for the user) otherwise.
    """
    from pam.auth import services

    wait = services.lockout_seconds(user.email, (address or "unknown")[:64])
    if wait:
        return None, services.lockout_message(wait)
    how = verify(user, code)
    if how is None:
        services.record_failure(user.email, address, user, "wrong second-factor code")
        return None, WRONG_CODE
    return how, None


def _accept_totp(user: User, seed: str, code: str) -> bool:
    if not _TOTP_CODE.match(code or ""):
        return False
    totp = pyotp.TOTP(seed)
    now_step = int(time.time()) // totp.interval
    for step in range(now_step - _DRIFT_STEPS, now_step + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # already used: a replayed or older code
            user.totp_last_step = step
            return True
    return False


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
    wanted = _code_hash(user, code)
    for recovery in _recovery_codes(user):
        if recovery.used_at is None and hmac.compare_digest(recovery.code_hash, wanted):
            recovery.used_at = utcnow()
            left = sum(1 for r in _recovery_codes(user) if r.used_at is None)
            audit.record(
                "recovery_code_used",
                actor=user,
                target=user,
                summary=f"Used a recovery code ({left} left)",
            )
            return True
    return False


def recovery_codes_left(user: User) -> int:
    return sum(1 for recovery in _recovery_codes(user) if recovery.used_at is None)
