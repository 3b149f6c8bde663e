"""Per-request work: a request id for logs and the audit trail, and security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator

from flask import Flask, abort, g, request
from flask_login import current_user

log = logging.getLogger("pam.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# No inline script or style anywhere: every script and stylesheet is a file PAM serves.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def register_request_hooks(app: Flask) -> None:
    """Attach the before/after request hooks."""

    @app.before_request
    def assign_request_id() -> None:
        offered = request.headers.get("X-Request-ID", "")
        g.request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.before_request
    def refuse_nul_characters():
        """No one types a NUL character; PostgreSQL cannot store one in text, and a
        control character in a name or reference only ever means a forged request."""
        texts = [value for _, value in request.args.items(multi=True)]
        if request.method in ("POST", "PUT", "PATCH"):
            texts += [value for _, value in request.form.items(multi=True)]
            texts += [upload.filename or "" for upload in request.files.values()]
            if request.is_json:
                texts += list(_strings(request.get_json(silent=True)))
        if any("\x00" in text for text in texts):
            abort(400)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        hsts = app.config["PAM_HSTS_SECONDS"]
        if app.config["PAM_ENV"] == "production" and hsts:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
        if request.endpoint != "static":
            # Not only pages behind sign-in: a half-finished sign-in shows a two-factor key,
            # a set-password link is a credential, and API answers come with a token, not
            # a signed-in session. Only the public static files may be cached.
            headers["Cache-Control"] = "no-store"
        headers["X-Request-ID"] = getattr(g, "request_id", "")
        return response

    @app.after_request
    def log_request(response):
        started = getattr(g, "request_started", None)
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        log.info(
            "request",
            extra={
                "request_id": getattr(g, "request_id", None),
                "method": request.method,
                "path": _loggable_path(),
                "status": response.status_code,
                "duration_ms": round(elapsed_ms, 1),
                "user_id": current_user.id if current_user.is_authenticated else None,
            },
        )
        return response


# Route arguments that are secrets (a set-password link's token): logged as a placeholder.
SECRET_ROUTE_ARGUMENTS = frozenset({"token"})


def _loggable_path() -> str:
    """The request's path, with any secret in it replaced, so logs never hold a live link."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SECRET_ROUTE_ARGUMENTS and isinstance(value, str) and value:
            path = path.replace(value, f"<{name}>")
    return path


def _strings(value) -> Iterator[str]:
    """Every string in a decoded JSON body, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
