"""The demo's users the benchmark signs in as, and the sign-in form's CSRF token."""

from __future__ import annotations

import re

DEMO_PASSWORD = "dorset-demo-2026"  # noqa: S105 - the public demo password
BOARD = "board@cjb.example.org"
OFFICER = "officer@opcc.example.org"
PROVIDER = "amy.turner@purbeck-mediation.example.org"


def csrf_token(page: str) -> str:
    """The CSRF token of the (first) form on a page."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
