"""Structured logs: one JSON object per line on stderr, for a log shipper to index.

Each request writes one "request" line with its request id (also in the X-Request-ID
response header and on every audit event the request records), method, path, status,
duration and user id. Query strings are left out: a path is enough to find a page,
and a query string might carry something typed into a search box. Request bodies, and
so passwords and codes, are never logged.
"""

from __future__ import annotations

import logging

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(FORMAT, rename_fields={"asctime": "time", "levelname": "level"})


def configure_logging(app: Flask) -> None:
    """Send PAM's own loggers to stderr as JSON lines (once, however many apps are made)."""
    logger = logging.getLogger("pam")
    if any(getattr(handler, "pam_json", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter())
    handler.pam_json = True
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if not app.testing else logging.WARNING)
    logger.propagate = False  # not twice when the server (gunicorn) logs the root too
