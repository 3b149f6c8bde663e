"""Two-factor sign-in: set-up at first sign-in, codes once only, recovery codes, the
lockout, the administrator's reset, and a fresh code to record a funding decision."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date

import pyotp
import pytest
from sqlalchemy import select

from pam.audit.models import AuditEvent
from pam.auth import sessions, two_factor
from pam.auth.models import RecoveryCode, Role
from pam.decisions import services as decision_services
from pam.decisions.models import DecisionStatus
from pam.extensions import db
from tests.conftest import FACTORY, TEST_PASSWORD


@pytest.fixture
def required(app) -> Iterator[None]:
    """Two-factor sign-in required, as in production."""
    app.config["PAM_REQUIRE_TWO_FACTOR"] = True
    yield
    app.config["PAM_REQUIRE_TWO_FACTOR"] = False


@pytest.fixture
def decision_factory(make_organisation):
    def make(status: str = "submitted"):
        line = decision_services.save_budget_line(
            FACTORY,
            None,
            {"year": "2025/26", "code": "CORE", "name": "Core", "funder": "PCC", "allocation": 9e4},
        )
        db.session.flush()
        fields = {"title": "Award", "decision_type": "budget_allocation", "rationale": "Need",
                  "options_considered": "Two", "provider_id": make_organisation().id}  # fmt: skip
        decision = decision_services.create_decision(
            FACTORY, fields, [(line.id, 100)], date(2025, 5, 1)
        )
        if status == "submitted":
            decision_services.submit_decision(FACTORY, decision)
        db.session.commit()
        return decision

    return make


def sign_in(client, user, **kwargs):
    return client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD}, **kwargs)


def code_for(user, steps_ahead: int = 0) -> str:
    """The code the user's app would show (steps_ahead=1: the next 30 seconds' code)."""
    totp = pyotp.TOTP(two_factor._seed(user))
    return totp.at(time.time() + steps_ahead * totp.interval)


def enrol(user) -> list[str]:
    """Set up two-factor for the user directly; returns their recovery codes."""
    two_factor.pending_seed(user)
    codes = two_factor.confirm(user, code_for(user))
    db.session.commit()
    return codes


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_an_officer_sets_up_an_app_at_first_sign_in_and_gets_recovery_codes(
    client, make_user, required
):
    officer = make_user(role=Role.OFFICER)
    response = sign_in(client, officer)
    assert response.headers["Location"].endswith("/sign-in/set-up-two-factor")
    assert not signed_in(client)  # the password alone is not enough

    page = client.get("/sign-in/set-up-two-factor")
    assert b'src="data:image/svg+xml' in page.data
    seed = two_factor._seed(db.session.get(type(officer), officer.id))
    assert " ".join(seed[i : i + 4] for i in range(0, len(seed), 4)).encode() in page.data

    wrong = client.post("/sign-in/set-up-two-factor", data={"code": "000000"})
    assert b"That code is not right" in wrong.data
    assert not signed_in(client)

    done = client.post("/sign-in/set-up-two-factor", data={"code": code_for(officer)})
    codes = re.findall(rb"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.data)
    assert len(codes) == 10
    assert signed_in(client)
    db.session.refresh(officer)
    assert officer.two_factor_enabled_at is not None
    assert officer.totp_secret and seed not in officer.totp_secret  # encrypted at rest
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not {c.decode().replace("-", "") for c in codes} & set(stored)
    assert actions()[-2:] == ["two_factor_on", "login"]


def test_a_code_works_once_and_a_wrong_code_counts_towards_the_lockout(
    client, make_user, app, required
):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)  # used this step's code
    assert sign_in(client, officer).headers["Location"].endswith("/sign-in/two-factor")
    replay = client.post("/sign-in/two-factor", data={"code": code_for(officer)})
    assert b"That code is not right" in replay.data and not signed_in(client)

    good = client.post("/sign-in/two-factor", data={"code": code_for(officer, steps_ahead=1)})
    assert good.status_code == 302 and signed_in(client)
    assert (
        "Signed in (password and authenticator app)"
        in db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "login")).all()
    )

    other = app.test_client()
    sign_in(other, officer)
    for _ in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        other.post("/sign-in/two-factor", data={"code": "123456"})
    locked = other.post("/sign-in/two-factor", data={"code": code_for(officer, steps_ahead=1)})
    assert b"Too many failed attempts" in locked.data
    assert not signed_in(other)


def test_a_recovery_code_signs_in_once(client, make_user, app, required):
    officer = make_user(role=Role.DECISION_MAKER)
    codes = enrol(officer)
    sign_in(client, officer)
    response = client.post(
        "/sign-in/two-factor", data={"code": codes[0].upper()}, follow_redirects=True
    )
    assert b"You signed in with a recovery code: you have 9 left" in response.data
    assert "recovery_code_used" in actions()

    again = app.test_client()
    sign_in(again, officer)
    reused = again.post("/sign-in/two-factor", data={"code": codes[0]})
    assert b"That code is not right" in reused.data and not signed_in(again)


def test_an_unfinished_sign_in_expires_after_five_minutes(client, make_user, monkeypatch, required):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    sign_in(client, officer)
    later = time.time() + sessions.PENDING_LIFETIME_SECONDS + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    response = client.post("/sign-in/two-factor", data={"code": code_for(officer, 1)})
    assert response.headers["Location"].endswith("/sign-in")
    assert not signed_in(client)


def test_the_verify_page_without_a_password_first_sends_you_to_sign_in(client):
    assert client.get("/sign-in/two-factor").headers["Location"].endswith("/sign-in")
    assert client.post("/sign-in/set-up-two-factor", data={"code": "1"}).status_code == 302


def test_board_members_choose_it_and_may_turn_it_off_but_officers_may_not(
    make_user, login_as, required
):
    board = make_user(role=Role.BOARD_MEMBER)
    client = login_as(board)
    assert b"Two-factor sign-in is off" in client.get("/account/two-factor").data
    client.get("/account/two-factor/set-up")
    db.session.refresh(board)
    client.post("/account/two-factor/set-up", data={"code": code_for(board)})
    db.session.refresh(board)
    assert two_factor.is_enabled(board)

    refused = client.post("/account/two-factor/turn-off", data={"code": "000000"})
    assert refused.status_code == 302 and two_factor.is_enabled(board)
    off = client.post("/account/two-factor/turn-off", data={"code": code_for(board, 1)})
    assert off.headers["Location"].endswith("/sign-in")
    db.session.refresh(board)
    assert not two_factor.is_enabled(board)

    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    officer_client = login_as(officer)
    assert b"cannot be turned off" in officer_client.get("/account/two-factor").data
    forbidden = officer_client.post(
        "/account/two-factor/turn-off", data={"code": code_for(officer, 1)}
    )
    assert forbidden.status_code == 403


def test_new_recovery_codes_replace_the_old_ones(make_user, login_as):
    user = make_user(role=Role.OFFICER)
    old = enrol(user)
    client = login_as(user)
    wrong = client.post("/account/two-factor/recovery-codes", data={"code": "999999"})
    assert wrong.status_code == 302
    page = client.post("/account/two-factor/recovery-codes", data={"code": code_for(user, 1)})
    new = re.findall(rb"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.data)
    assert len(new) == 10
    assert two_factor.verify(user, old[1]) is None
    assert two_factor.verify(user, new[0].decode()) == "recovery code"


def test_an_administrator_resets_a_lost_phone_and_the_user_sets_up_again(
    make_user, login_as, app, required
):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    officer_client = login_as(officer)
    admin = make_user(role=Role.ADMINISTRATOR)
    response = login_as(admin).post(f"/admin/users/{officer.id}/reset-two-factor")
    assert response.status_code == 302
    db.session.refresh(officer)
    assert officer.two_factor_enabled_at is None and officer.totp_secret is None
    assert db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == officer.id)) is None
    assert not signed_in(officer_client)  # their sessions ended
    assert "two_factor_off" in actions()
    fresh = app.test_client()
    assert sign_in(fresh, officer).headers["Location"].endswith("/sign-in/set-up-two-factor")


def test_recording_a_decision_needs_a_fresh_code(make_user, login_as, decision_factory):
    decision = decision_factory(status="submitted")
    maker = make_user(role=Role.DECISION_MAKER)
    enrol(maker)
    client = login_as(maker)
    url = f"/decisions/{decision.id}/decide"
    assert b"Code from your authenticator app" in client.get(url).data
    data = {"outcome": "approved", "comment": "Good value", "override_reason": ""}

    missing = client.post(url, data=data)
    assert b"Enter the code from your authenticator app" in missing.data
    replayed = client.post(url, data={**data, "second_factor_code": code_for(maker)})
    assert b"That code is not right" in replayed.data
    assert b"Good value" in replayed.data  # what was typed is kept
    db.session.refresh(decision)
    assert decision.status == DecisionStatus.SUBMITTED

    approved = client.post(url, data={**data, "second_factor_code": code_for(maker, 1)})
    assert approved.status_code == 302
    db.session.refresh(decision)
    assert decision.status == DecisionStatus.APPROVED


def test_a_decision_maker_who_must_use_two_factor_sets_it_up_before_deciding(
    make_user, login_as, decision_factory, required
):
    decision = decision_factory(status="submitted")
    client = login_as(make_user(role=Role.DECISION_MAKER))
    response = client.post(f"/decisions/{decision.id}/decide", data={"outcome": "approved"})
    assert response.headers["Location"].endswith("/account/two-factor/set-up")
    db.session.refresh(decision)
    assert decision.status == DecisionStatus.SUBMITTED


def test_the_seed_is_never_in_the_audit_trail(make_user):
    user = make_user(role=Role.OFFICER)
    enrol(user)
    seed = two_factor._seed(user)
    details = " ".join(str(e.changes) for e in db.session.scalars(select(AuditEvent)))
    assert seed not in details and user.totp_secret not in details
