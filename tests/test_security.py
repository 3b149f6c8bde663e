"""Security properties a user relies on without seeing: CSRF, headers, safe defaults."""

from __future__ import annotations

import io

import pytest

from pam import create_app
from pam.auth.models import Role
from pam.config import build_config, normalise_database_url
from tests.conftest import login
from tests.test_permissions import MATRIX


@pytest.fixture
def csrf_app(database_url):
    """The real configuration: CSRF on (the shared test app turns it off for brevity)."""
    return create_app(
        {
            "PAM_ENV": "testing",
            "SECRET_KEY": "csrf-test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SERVER_NAME": "pam.test",
        }
    )


def _post_endpoints() -> set[str]:
    app = create_app({"PAM_ENV": "testing", "SECRET_KEY": "x"})
    return {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}


POST_ENDPOINTS = _post_endpoints()
# Every route that accepts a POST, at the URL the permission matrix uses for it (and the
# matrix test already fails when a route is missing from it).
# The API (api_v1.*) is exempt by design: it reads no cookie, only a token sent in a header,
# which a forged cross-site request cannot carry (test_api.py proves sessions get 401).
POST_ROUTES = sorted(
    {
        (url, endpoint)
        for _, endpoint, url, *_ in MATRIX
        if endpoint in POST_ENDPOINTS and not endpoint.startswith("api_v1.")
    }
)


@pytest.mark.parametrize(("url", "endpoint"), POST_ROUTES, ids=[e for _, e in POST_ROUTES])
def test_every_post_refuses_a_request_without_the_csrf_token(
    csrf_app, url, endpoint, make_user, records
):
    user = make_user(role=Role.OFFICER)
    client = login(csrf_app.test_client(), user)
    path = url.format(**records)
    response = client.post(path, data={"name": "x"})
    assert response.status_code == 400
    assert "The form had expired" in response.data.decode()


def test_sign_in_refuses_a_forged_form(csrf_app, make_user):
    user = make_user()
    response = csrf_app.test_client().post(
        "/sign-in", data={"email": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 400


def test_pages_carry_security_headers(client, make_user):
    response = client.get("/sign-in")
    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert len(headers["X-Request-ID"]) >= 8
    signed_in = login(client, make_user()).get("/home")
    assert signed_in.headers["Cache-Control"] == "no-store"


def test_production_is_the_default_and_is_strict(tmp_path, monkeypatch):
    for name in ("PAM_ENV", "PAM_SECRET_KEY", "PAM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    config = build_config(tmp_path)
    assert config["PAM_ENV"] == "production"
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert not config["PAM_ALLOW_DEMO_LOGINS"]
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'pam.db'}"


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("PAM_SECRET_KEY", raising=False)
    first = build_config(tmp_path)["SECRET_KEY"]
    second = build_config(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("PAM_SECRET_KEY", "from-the-environment")
    assert build_config(tmp_path)["SECRET_KEY"] == "from-the-environment"


def test_an_unknown_environment_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PAM_ENV", "prod")
    with pytest.raises(RuntimeError, match="PAM_ENV must be one of"):
        build_config(tmp_path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_the_installed_driver(given, expected):
    assert normalise_database_url(given) == expected


def test_a_nul_character_anywhere_in_a_request_is_a_plain_400(client, client_as):
    """Found by the fuzz tests: PostgreSQL cannot store NUL in text, so it was a 500."""
    assert client.post("/sign-in", data={"email": "\x00", "password": "x"}).status_code == 400
    assert client.get("/transparency?q=a\x00b").status_code == 400
    officer = client_as("officer")
    response = officer.post("/contracts/new", data={"title": "Mediation\x00"})
    assert response.status_code == 400
    assert b"There was a problem with your request" in response.data
    # In an uploaded file's name, and anywhere in a JSON body (the API), keys included.
    upload = {"file": (io.BytesIO(b"a,b"), "ret\x00urn.csv")}
    assert officer.post("/contracts/new", data=upload).status_code == 400
    for body in ({"values": {"K:RJ01": "1\x00"}}, {"values": {"K:\x00": "1"}}, ["\x00"]):
        assert client.put("/api/v1/contracts/1/returns/x/draft", json=body).status_code == 400
    assert client.put("/api/v1/contracts/1/returns/x/draft", json={"values": {}}).status_code == 401
