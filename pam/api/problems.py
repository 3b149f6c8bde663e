"""Errors from the API as RFC 9457 problem details (`application/problem+json`).

The portal's error handlers (pam.core.errors) call `problem_for` for any request under
/api/, so an API client never receives an HTML page."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/"

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "The request was not valid",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(
    status: int,
    detail: str = "",
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error")}
    body["status"] = status
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_for(error: HTTPException | None, status: int, detail: str = "") -> Response:
    """The problem for an HTTP error, with the fields webargs found invalid (422)."""
    data = getattr(error, "data", None) or {}
    errors = _flatten(data.get("messages", {})) if isinstance(data, dict) else []
    headers = dict(data.get("headers") or {}) if isinstance(data, dict) else {}
    if error is not None:
        headers.update(dict(error.get_headers() or []))
        headers.pop("Content-Type", None)
    if not detail and error is not None and error.description and status != 500:
        detail = error.description if not errors else "Some fields are not valid: see errors"
    return problem(status, detail, errors=errors, headers=headers)


def _flatten(messages: Any, path: str = "") -> list[dict[str, Any]]:
    """webargs' nested {"json": {"values": ["…"]}} as [{"field": "values", "message": …}]."""
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            where = key if not path else f"{path}.{key}"
            if key == "value" and path:  # a dict's entry: {"K:RJ01": {"value": [...]}}
                where = path
            found += _flatten(value, "" if where in ("json", "query", "headers") else where)
        return found
    if isinstance(messages, list | tuple):
        found = []
        for value in messages:
            if isinstance(value, str):
                found.append({"field": path or None, "message": value})
            else:
                found += _flatten(value, path)
        return found
    return [{"field": path or None, "message": str(messages)}]
