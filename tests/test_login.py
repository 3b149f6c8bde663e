"""Signing in and out: the real form, generic messages, throttling, deactivation, demo accounts."""

from __future__ import annotations

from sqlalchemy import select

from pam.audit.models import AuditEvent
from pam.auth.models import Role
from pam.auth.passwords import hash_password, needs_rehash
from pam.extensions import db
from tests.conftest import TEST_PASSWORD

GENERIC = "Enter a correct email address and password"


def sign_in(client, email, password=TEST_PASSWORD, **kwargs):
    return client.post("/sign-in", data={"email": email, "password": password}, **kwargs)


def events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_real_form_sign_in_reaches_home_and_is_audited(client, make_user):
    user = make_user(role=Role.OFFICER, full_name="Sarah Collins")
    response = sign_in(client, user.email.upper(), follow_redirects=True)
    assert response.status_code == 200
    assert b"Welcome, Sarah Collins" in response.data
    [event] = events("login")
    assert event.actor_id == user.id and event.address == "127.0.0.1"


def test_wrong_password_and_unknown_account_get_the_same_generic_message(client, make_user):
    user = make_user()
    wrong_password = sign_in(client, user.email, "not the password at all")
    unknown = sign_in(client, "nobody@example.org", "not the password at all")
    for response in (wrong_password, unknown):
        assert response.status_code == 200
        assert GENERIC.encode() in response.data
        assert b"nobody@example.org" in unknown.data  # what was typed is kept
    assert len(events("login_failed")) == 2


def test_empty_form_says_what_is_missing(client):
    response = client.post("/sign-in", data={"email": "", "password": ""})
    assert b"Enter your email address" in response.data
    assert b"Enter your password" in response.data
    assert b"There is a problem" in response.data


def test_account_is_throttled_after_repeated_failures_even_with_the_right_password(
    client, make_user, app
):
    user = make_user()
    limit = app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        sign_in(client, user.email, "wrong password again")
    response = sign_in(client, user.email)
    assert b"Too many failed attempts" in response.data
    assert not events("login")


def test_address_is_throttled_across_accounts(client, make_user, app):
    user = make_user()
    for number in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        sign_in(client, f"guess{number}@example.org", "wrong password again")
    response = sign_in(client, user.email)
    assert b"Too many failed attempts" in response.data
    other_address = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 302


def test_success_clears_the_account_failures(client, make_user, app):
    user = make_user()
    for _ in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"] - 1):
        sign_in(client, user.email, "wrong password again")
    assert sign_in(client, user.email).status_code == 302
    client.post("/sign-out")
    sign_in(client, user.email, "wrong password again")
    assert sign_in(client, user.email).status_code == 302


def test_deactivated_user_cannot_sign_in_and_their_session_stops(client, make_user, login_as):
    admin = make_user(role=Role.ADMINISTRATOR)
    user = make_user(role=Role.OFFICER)
    user_client = login_as(user)
    assert user_client.get("/home").status_code == 200
    login_as(admin).post(f"/admin/users/{user.id}/deactivate")
    assert user_client.get("/home").status_code == 302  # sent to sign in
    response = sign_in(client, user.email)
    assert GENERIC.encode() in response.data


def test_demo_accounts_are_refused_in_production(app, client, make_user):
    user = make_user(is_demo=True)
    app.config["PAM_ALLOW_DEMO_LOGINS"] = False
    try:
        response = sign_in(client, user.email)
    finally:
        app.config["PAM_ALLOW_DEMO_LOGINS"] = True
    assert GENERIC.encode() in response.data
    assert "demo accounts are refused" in events("login_failed")[0].summary


def test_next_parameter_only_redirects_within_the_portal(client, make_user):
    user = make_user()
    response = sign_in(client, user.email, query_string={"next": "//evil.example/steal"})
    assert response.headers["Location"].endswith("/home")
    client.post("/sign-out")
    response = sign_in(client, user.email, query_string={"next": "/organisations"})
    assert response.headers["Location"].endswith("/organisations")


def test_sign_out_needs_post_and_is_audited(client_as):
    client = client_as(Role.OFFICER)
    assert client.get("/sign-out").status_code == 404
    assert client.post("/sign-out").status_code == 302
    assert client.get("/home").status_code == 302
    assert len(events("logout")) == 1


def test_passwords_are_hashed_with_argon2id_at_owasp_minimum_or_above():
    stored = hash_password("a perfectly fine password")
    assert stored.startswith("$argon2id$")
    params = dict(part.split("=") for part in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    weak = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$9y4xEhQvO0HEOyVQwcBv1w"
    assert needs_rehash(weak)


def test_sign_in_pages_are_never_cached(client, make_user):
    assert client.get("/sign-in").headers.get("Cache-Control") == "no-store"
    refused = sign_in(client, make_user().email, "not the password at all")
    assert refused.headers.get("Cache-Control") == "no-store"
    assert client.get("/static/dist/pam.css").headers.get("Cache-Control") != "no-store"
