"""Password hashing (Argon2id) and the password rules.

Parameters follow OWASP's Password Storage Cheat Sheet minimum for Argon2id:
19 MiB of memory, 2 iterations, 1 degree of parallelism. Existing hashes made with
weaker parameters are upgraded at the next successful sign-in (needs_rehash).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A hash of a random password, checked when the account does not exist, so that a
# wrong e-mail address takes as long to refuse as a wrong password.
_DUMMY_HASH = _hasher.hash("pam-timing-equaliser-not-a-password")


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same effort when there is no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the stored hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Plain-English reasons a new password is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be {MIN_LENGTH} characters or more")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    lowered = password.lower()
    if lowered in _common_passwords():
        problems.append("Password is too common: choose one that is harder to guess")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append("Password must not contain your email address")
    return problems


_COMMON: frozenset[str] | None = None


def _common_passwords() -> frozenset[str]:
    """The bundled list of commonly used passwords (lower case), loaded once."""
    global _COMMON
    if _COMMON is None:
        from importlib.resources import files

        text = files("pam.auth").joinpath("common_passwords.txt").read_text()
        _COMMON = frozenset(
            line.strip().lower()
            for line in text.splitlines()
            if line.strip() and not line.startswith("#")
        )
    return _COMMON
