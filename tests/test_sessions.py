"""Sessions end when they should: idle and absolute timeouts, signing out everywhere, and
the lockout's backoff."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from pam.auth import sessions
from pam.auth.models import LoginFailure, Role
from pam.extensions import db
from tests.conftest import TEST_PASSWORD


def sign_in(client, email, password=TEST_PASSWORD):
    return client.post("/sign-in", data={"email": email, "password": password})


_REAL_TIME = time.time


def at(monkeypatch, seconds_from_now: float) -> None:
    """Move the sessions' clock (the real clock plus an offset)."""
    monkeypatch.setattr(sessions.time, "time", lambda: _REAL_TIME() + seconds_from_now)


def test_a_session_ends_after_the_idle_limit_and_says_why(client_as, app, monkeypatch):
    client = client_as(Role.OFFICER)
    idle = app.config["PAM_SESSION_IDLE_MINUTES"] * 60
    at(monkeypatch, idle - 30)
    assert client.get("/contracts").status_code == 200  # still within the limit

    at(monkeypatch, idle + 60)  # idle measured from the last request, not sign-in
    assert client.get("/contracts").status_code == 200

    at(monkeypatch, 2 * idle + 120)
    response = client.get("/contracts?page=2")
    assert response.status_code == 302
    assert "/sign-in?next=/contracts?page%3D2" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert b"had not used PAM for 30 minutes" in page.data
    assert client.get("/contracts").status_code == 302  # and it stays ended


def test_a_busy_session_still_ends_at_the_absolute_limit(client_as, app, monkeypatch):
    client = client_as(Role.BOARD_MEMBER)
    step = (app.config["PAM_SESSION_IDLE_MINUTES"] - 5) * 60
    limit = app.config["PAM_SESSION_MAX_HOURS"] * 3600
    elapsed = 0
    while elapsed + step < limit:
        elapsed += step
        at(monkeypatch, elapsed)
        assert client.get("/account").status_code == 200
    at(monkeypatch, limit + 1)
    response = client.get("/account")
    assert response.status_code == 302
    assert b"signed in more than 12 hours ago" in client.get("/sign-in").data


def test_a_session_cookie_without_its_times_is_not_accepted(app, make_user):
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert client.get("/account").status_code == 302


def test_signing_out_ends_every_session_of_that_user(app, make_user):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        assert sign_in(client, user.email).status_code == 302
        assert client.get("/account").status_code == 200
    laptop.post("/sign-out")
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    assert sign_in(phone, user.email).status_code == 302  # and signing in again works


def test_role_change_and_password_reset_end_sessions(make_user, login_as):
    admin_client = login_as(make_user(role=Role.ADMINISTRATOR))
    moved, reset = make_user(role=Role.OFFICER), make_user(role=Role.OFFICER)
    moved_client, reset_client = login_as(moved), login_as(reset)
    admin_client.post(
        f"/admin/users/{moved.id}/edit",
        data={"full_name": moved.full_name, "email": moved.email, "role": "board_member"},
    )
    admin_client.post(f"/admin/users/{reset.id}/reset-password")
    assert moved_client.get("/account").status_code == 302
    assert reset_client.get("/account").status_code == 302


def _age_failures(seconds: int) -> None:
    """Move every recorded failure back in time (in Python: SQLite has no date arithmetic)."""
    for failure in db.session.scalars(select(LoginFailure)):
        failure.occurred_at = failure.occurred_at - timedelta(seconds=seconds)
    db.session.commit()


def test_the_lockout_doubles_with_each_failure_after_it_ends(client, make_user, app):
    user = make_user()
    for _ in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        sign_in(client, user.email, "wrong password again")
    locked = sign_in(client, user.email)
    assert b"Try again in 1 minute." in locked.data

    # Hammering while locked is refused unchecked and does not lengthen the lockout.
    for _ in range(10):
        sign_in(client, user.email, "wrong password again")
    assert db.session.query(LoginFailure).count() == 5

    _age_failures(61)
    assert b"Enter a correct email" in sign_in(client, user.email, "still wrong").data
    assert b"Try again in 2 minutes." in sign_in(client, user.email).data

    _age_failures(121)
    assert sign_in(client, user.email).status_code == 302  # the right password, at last
    assert db.session.query(LoginFailure).count() == 0


def test_signing_out_after_the_idle_limit_still_ends_the_other_sessions(
    app, make_user, monkeypatch
):
    user = make_user()
    desk, phone = app.test_client(), app.test_client()
    sign_in(desk, user.email)
    sign_in(phone, user.email)
    at(monkeypatch, app.config["PAM_SESSION_IDLE_MINUTES"] * 60 + 60)
    desk.post("/sign-out")  # back from lunch, the user signs out everywhere
    monkeypatch.undo()
    assert phone.get("/account").status_code == 302


def test_signing_in_starts_a_fresh_session(client, make_user):
    """Nothing put in the browser's session before sign-in survives it (no fixation)."""
    user = make_user(role=Role.BOARD_MEMBER)
    with client.session_transaction() as planted:
        planted[sessions.SECOND_FACTOR_AT] = time.time()  # as if a code had been given
        planted["planted"] = "by someone else"
    assert sign_in(client, user.email).status_code == 302
    with client.session_transaction() as session:
        assert sessions.SECOND_FACTOR_AT not in session and "planted" not in session
        assert session["_user_id"] == user.get_id()


def test_the_password_step_of_a_two_factor_sign_in_starts_a_fresh_session(
    app, client, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "PAM_REQUIRE_TWO_FACTOR", True)
    officer = make_user(role=Role.OFFICER)
    with client.session_transaction() as planted:
        planted["planted"] = "by someone else"
    assert sign_in(client, officer.email).status_code == 302
    with client.session_transaction() as session:
        assert sessions.PENDING in session and "planted" not in session
