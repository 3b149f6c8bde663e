"""The demo data: every kind of user can sign in, loading twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from pam.audit import services as audit
from pam.audit.models import AuditEvent
from pam.auth.models import Role, User
from pam.demo import DEMO_PASSWORD, DEMO_USERS
from pam.extensions import db


def event_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def test_demo_loads_once_and_every_role_can_sign_in(app, runner):
    first = runner.invoke(args=["pam", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output
    events = event_count()
    second = runner.invoke(args=["pam", "demo"])
    assert "nothing changed" in second.output
    assert event_count() == events
    assert audit.verify_chain().ok

    roles = set(db.session.scalars(select(User.role)))
    assert roles == set(Role)
    for spec in DEMO_USERS:
        client = app.test_client()
        response = client.post("/sign-in", data={"email": spec["email"], "password": DEMO_PASSWORD})
        assert response.status_code == 302, spec["email"]
        assert client.get("/home").status_code == 200


def test_demo_provider_users_belong_to_a_provider(runner):
    runner.invoke(args=["pam", "demo"])
    providers = db.session.scalars(select(User).where(User.role == Role.PROVIDER)).all()
    assert providers and all(user.organisation_id for user in providers)


def test_demo_refused_in_production(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "PAM_ENV", "production")
    result = runner.invoke(args=["pam", "demo"])
    assert result.exit_code == 2
    assert "Refused" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_demo_logins_lists_every_account(runner):
    output = runner.invoke(args=["pam", "demo-logins"]).output
    assert DEMO_PASSWORD in output
    assert all(spec["email"] in output for spec in DEMO_USERS)
