"""Request logs are JSON lines carrying the request id that the audit trail records too,
and never what was typed into a form."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from pam.audit.models import AuditEvent
from pam.core.logs import json_formatter
from pam.extensions import db
from tests.conftest import TEST_PASSWORD, in_fresh_interpreter


@pytest.fixture
def request_logs() -> Iterator[io.StringIO]:
    """What the request logger writes, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger("pam.requests")
    level, disabled = logger.level, logger.disabled
    logger.disabled = False  # a logging.config call elsewhere in the run may have disabled it
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # setLevel, not the attribute: it clears logging's cache
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.disabled = disabled


def test_a_request_log_line_carries_the_id_the_audit_event_has(client, make_user, request_logs):
    stream = request_logs
    user = make_user()
    response = client.post(
        "/sign-in?next=/contracts",
        data={"email": user.email, "password": TEST_PASSWORD},
        headers={"X-Request-ID": "abc12345-from-the-balancer"},
    )
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "request" and line["level"] == "INFO" and "time" in line
    assert line["request_id"] == "abc12345-from-the-balancer" == response.headers["X-Request-ID"]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/sign-in", 302)
    assert isinstance(line["duration_ms"], float)
    login = db_event("login")
    assert login.request_id == line["request_id"]
    assert TEST_PASSWORD not in stream.getvalue() and "next=" not in stream.getvalue()


def test_a_malformed_request_id_is_replaced_with_a_fresh_one(client, request_logs):
    stream = request_logs
    response = client.get("/cookies", headers={"X-Request-ID": "<script>"})
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert len(line["request_id"]) == 32 and line["request_id"].isalnum()


def db_event(action: str) -> AuditEvent:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action))


def test_a_set_password_links_token_never_reaches_the_log(client, request_logs):
    client.get("/set-password/SECRET-link-token-abc")
    [line] = [json.loads(text) for text in request_logs.getvalue().splitlines()]
    assert line["path"] == "/set-password/<token>"
    assert "SECRET" not in request_logs.getvalue()


def test_the_portal_itself_writes_json_request_lines_to_standard_error():
    """The fixture above attaches its own handler; this checks the portal's own set-up,
    in a fresh interpreter, as a server process would run it."""
    written = in_fresh_interpreter("app.test_client().get('/cookies')").stderr
    lines = [json.loads(text) for text in written.splitlines() if text.startswith("{")]
    request = next(line for line in lines if line.get("message") == "request")
    assert (request["level"], request["path"], request["status"]) == ("INFO", "/cookies", 200)
