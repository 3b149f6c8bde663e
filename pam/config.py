"""Configuration from environment variables, with safe defaults.

PAM_ENV            production (default: safe), development or testing.
PAM_DATABASE_URL   SQLAlchemy URL; default an SQLite file in the instance folder.
PAM_SECRET_KEY     session signing key; default generated once into the instance folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENVIRONMENTS = ("production", "development", "testing")


OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
API_DESCRIPTION = (
    "Authenticate every call with an API token made under Your account > API tokens: "
    "`Authorization: Bearer pam_...`. Errors are RFC 9457 problem details "
    "(application/problem+json)."
)


def read_secret_key(instance_path: Path) -> str:
    """Return PAM_SECRET_KEY, or a key generated once and kept (mode 0600) in the instance folder.

    Keeping it in the instance folder (git-ignored) means sessions survive restarts
    without a secret ever being committed.
    """
    from_env = os.environ.get("PAM_SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url: str) -> str:
    """Let `postgresql://` URLs use psycopg 3, the driver PAM installs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def build_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """Assemble the Flask configuration from the environment and any test overrides."""
    overrides = overrides or {}
    env = overrides.get("PAM_ENV") or os.environ.get("PAM_ENV", "production")
    if env not in ENVIRONMENTS:
        raise RuntimeError(f"PAM_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    default_db = f"sqlite:///{instance_path / 'pam.db'}"
    max_upload = int(os.environ.get("PAM_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    database_url = normalise_database_url(os.environ.get("PAM_DATABASE_URL", default_db))
    production = env == "production"
    config = {
        "PAM_ENV": env,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: a database error in a log never carries the values it was given
        # (a password hash, what someone typed).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        # Sessions: HttpOnly always; Secure in production (served over TLS there).
        "SESSION_COOKIE_HTTPONLY": True,
        # HSTS max-age in production (0 turns the header off, e.g. behind a proxy that sets it).
        "PAM_HSTS_SECONDS": int(os.environ.get("PAM_HSTS_SECONDS", 365 * 24 * 3600)),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead of a clock
        # One uploaded file may be PAM_MAX_UPLOAD_BYTES; a request, that plus the form around it.
        "PAM_MAX_UPLOAD_BYTES": max_upload,
        "MAX_CONTENT_LENGTH": max_upload + 1024 * 1024,
        # The organisation running this PAM (shown in the header and page titles).
        "PAM_ORGANISATION_NAME": os.environ.get(
            "PAM_ORGANISATION_NAME", "Office of the Police and Crime Commissioner"
        ),
        "PAM_SERVICE_NAME": "PAM",
        # Login throttling: failures allowed in the window before further tries wait.
        "PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
        "PAM_LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
        "PAM_LOGIN_WINDOW_SECONDS": 60 * 60,
        # Lockout with backoff: after that many failures, wait this long, doubling with
        # each further failure (up to the cap). Counts are shared by every process through
        # the database.
        "PAM_LOGIN_LOCKOUT_SECONDS": 60,
        "PAM_LOGIN_LOCKOUT_MAX_SECONDS": 15 * 60,
        # Sessions end after this long without a request, and this long after sign-in.
        "PAM_SESSION_IDLE_MINUTES": int(os.environ.get("PAM_SESSION_IDLE_MINUTES", 30)),
        "PAM_SESSION_MAX_HOURS": int(os.environ.get("PAM_SESSION_MAX_HOURS", 12)),
        # Two-factor sign-in for administrators, officers and decision makers (and provider
        # users when the second setting is on). Off only where demo logins are allowed.
        "PAM_REQUIRE_TWO_FACTOR": _flag("PAM_REQUIRE_TWO_FACTOR", production),
        "PAM_REQUIRE_TWO_FACTOR_FOR_PROVIDERS": _flag(
            "PAM_REQUIRE_TWO_FACTOR_FOR_PROVIDERS", False
        ),
        # Demo accounts are refused a login in production, whatever their password.
        "PAM_ALLOW_DEMO_LOGINS": not production,
        "PAM_PAGE_SIZE": 25,
        # Contracts and tenders at or above this value are on the public transparency page.
        "PAM_TRANSPARENCY_THRESHOLD": int(os.environ.get("PAM_TRANSPARENCY_THRESHOLD", 10000)),
        # A measure that moves more than this % against the previous period needs a
        # one-line explanation before the return can be submitted.
        "PAM_SWING_PERCENT": int(os.environ.get("PAM_SWING_PERCENT", 50)),
        # Open data (OCDS, 360Giving): the OPCC's org-id.guide identifier (e.g. GB-GOR-...),
        # the prefixes registered with each standard (the defaults are placeholders), and the
        # licence and publication policy the files declare.
        "PAM_ORGANISATION_ID": os.environ.get("PAM_ORGANISATION_ID", ""),
        "PAM_OCDS_PREFIX": os.environ.get("PAM_OCDS_PREFIX", "ocds-xxxxxx"),
        "PAM_360GIVING_PREFIX": os.environ.get("PAM_360GIVING_PREFIX", "360G-xxxxxx"),
        "PAM_OPEN_DATA_LICENCE": os.environ.get("PAM_OPEN_DATA_LICENCE", OGL),
        "PAM_OPEN_DATA_POLICY_URL": os.environ.get("PAM_OPEN_DATA_POLICY_URL", ""),
        # Counts from 1 to this are suppressed wherever figures leave the officers.
        "PAM_SUPPRESSION_THRESHOLD": int(os.environ.get("PAM_SUPPRESSION_THRESHOLD", 4)),
        # Work a year's suppression patterns out after a return of it is accepted (on a
        # background thread, once the officer's response has gone: pam/dashboards/ahead.py),
        # so the board's next view does not wait for them.
        "PAM_WORK_OUT_PATTERNS_ON_ACCEPT": _flag("PAM_WORK_OUT_PATTERNS_ON_ACCEPT", True),
        # A request after a change works a family's pattern out itself only where the
        # family's year has at most this many cells (a single office's year has one or two
        # thousand: under a second); a larger one (nationally, 120,000: minutes) is shown as
        # it was last built, or withheld, until the work-out has run (pam.dashboards.pages).
        "PAM_WORK_OUT_IN_REQUEST_CELLS": int(os.environ.get("PAM_WORK_OUT_IN_REQUEST_CELLS", 4000)),
        # The API: calls per token (or per address without one), and where the counts are
        # kept. memory:// is per process; with several server processes use shared
        # storage, e.g. redis://127.0.0.1:6379 (see README).
        "PAM_API_RATE_LIMIT": os.environ.get("PAM_API_RATE_LIMIT", "120 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("PAM_RATE_LIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "API_TITLE": "PAM API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "security": [{"bearerAuth": []}],
            "info": {"description": API_DESCRIPTION},
        },
    }
    config.update(overrides)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = read_secret_key(instance_path)
    return config
