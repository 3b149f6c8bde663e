"""Two-factor sign-in: set-up at first sign-in, codes once only, recovery codes, the
lockout, the administrator's reset, and a fresh code to record a funding decision."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from datetime import date

import pyotp
import pytest
from flask import current_app
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


_REAL_TIME = time.time


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> None:
    """Freeze the clock 5 seconds into a 30-second step, so "this step's code" and "the
    next step's code" are the same codes for the whole test, however slow the machine."""
    start = (int(_REAL_TIME()) // 30) * 30 + 5
    monkeypatch.setattr(time, "time", lambda: start)


def code_for(user, steps_ahead: int = 0, seed: str | None = None) -> str:
    """The code the user's app would show (steps_ahead=1: the next 30 seconds' code)."""
    totp = pyotp.TOTP(seed or two_factor._seed(user))
    return totp.at(time.time() + steps_ahead * totp.interval)


def enrol(user) -> list[str]:
    """Set up two-factor for the user directly; returns their recovery codes."""
    with current_app.test_request_context():
        codes = two_factor.confirm(user, code_for(user, seed=two_factor.pending_seed(user)))
    db.session.commit()
    return codes


def key_on_page(page) -> str:
    """The set-up key as the page shows it, without the spaces."""
    match = re.search(rb'id="two-factor-key">([A-Z2-7 ]+)</code>', page.data)
    return match.group(1).decode().replace(" ", "")


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
    seed = key_on_page(page)
    assert key_on_page(client.get("/sign-in/set-up-two-factor")) == seed  # same key on reload
    db.session.refresh(officer)
    assert officer.totp_secret is None  # nothing stored until it is confirmed

    wrong = client.post("/sign-in/set-up-two-factor", data={"code": "000000"})
    assert b"That code is not right" in wrong.data
    assert not signed_in(client)

    done = client.post("/sign-in/set-up-two-factor", data={"code": code_for(officer, seed=seed)})
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
    assert b"already been used" in replay.data and not signed_in(client)

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
    # Their role cannot turn two-factor off or set it up again alone: say what they can do.
    assert b"ask your PAM administrator to reset your two-factor sign-in" in response.data
    assert "recovery_code_used" in actions()

    again = app.test_client()
    sign_in(again, officer)
    reused = again.post("/sign-in/two-factor", data={"code": codes[0]})
    assert b"That code is not right" in reused.data and not signed_in(again)


def test_someone_who_chose_two_factor_is_told_how_to_replace_a_lost_phone(client, make_user):
    board = make_user(role=Role.BOARD_MEMBER)
    codes = enrol(board)
    sign_in(client, board)
    page = client.post("/sign-in/two-factor", data={"code": codes[0]}, follow_redirects=True)
    assert b"turn two-factor sign-in off from your account page" in page.data
    off = client.post("/account/two-factor/turn-off", data={"code": codes[1]})
    assert off.headers["Location"].endswith("/sign-in")  # a recovery code will do


def test_an_unfinished_sign_in_expires_after_five_minutes(client, make_user, monkeypatch, required):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    sign_in(client, officer)
    later = time.time() + sessions.PENDING_LIFETIME_SECONDS + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    response = client.post(
        "/sign-in/two-factor", data={"code": code_for(officer, 1)}, follow_redirects=True
    )
    assert b"not finished within 5 minutes" in response.data
    assert not signed_in(client)


def test_setting_up_an_app_at_sign_in_may_take_longer_than_five_minutes(
    client, make_user, monkeypatch, required
):
    officer = make_user(role=Role.OFFICER)
    sign_in(client, officer)
    seed = key_on_page(client.get("/sign-in/set-up-two-factor"))
    later = time.time() + sessions.PENDING_LIFETIME_SECONDS + 1  # installing the app, say
    monkeypatch.setattr(time, "time", lambda: later)
    client.post("/sign-in/set-up-two-factor", data={"code": code_for(officer, seed=seed)})
    assert signed_in(client)


def test_a_set_up_not_finished_in_time_keeps_its_key_for_the_next_sign_in(
    client, make_user, monkeypatch, required
):
    officer = make_user(role=Role.OFFICER)
    sign_in(client, officer)
    seed = key_on_page(client.get("/sign-in/set-up-two-factor"))
    later = time.time() + sessions.SET_UP_LIFETIME_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    late = client.post(
        "/sign-in/set-up-two-factor",
        data={"code": code_for(officer, seed=seed)},
        follow_redirects=True,
    )
    assert b"not finished within 15 minutes" in late.data and not signed_in(client)
    sign_in(client, officer)
    assert key_on_page(client.get("/sign-in/set-up-two-factor")) == seed  # the app still works
    client.post("/sign-in/set-up-two-factor", data={"code": code_for(officer, seed=seed)})
    assert signed_in(client)


def test_the_verify_page_without_a_password_first_sends_you_to_sign_in(client):
    assert client.get("/sign-in/two-factor").headers["Location"].endswith("/sign-in")
    assert client.post("/sign-in/set-up-two-factor", data={"code": "1"}).status_code == 302


def test_board_members_choose_it_and_may_turn_it_off_but_officers_may_not(
    make_user, login_as, required
):
    board = make_user(role=Role.BOARD_MEMBER)
    client = login_as(board)
    assert b"Two-factor sign-in is off" in client.get("/account/two-factor").data
    seed = key_on_page(client.get("/account/two-factor/set-up"))
    client.post(
        "/account/two-factor/set-up",
        data={"code": code_for(board, seed=seed), "current_password": TEST_PASSWORD},
    )
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


def test_new_recovery_codes_replace_the_old_ones_and_end_other_sessions(make_user, login_as):
    user = make_user(role=Role.OFFICER)
    old = enrol(user)
    client, elsewhere = login_as(user), login_as(user)
    wrong = client.post("/account/two-factor/recovery-codes", data={"code": "999999"})
    assert wrong.status_code == 302
    page = client.post("/account/two-factor/recovery-codes", data={"code": code_for(user, 1)})
    new = re.findall(rb"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.data)
    assert len(new) == 10
    assert two_factor.verify(user, old[1]) == (None, two_factor.WRONG_CODE)
    assert two_factor.verify(user, new[0].decode()) == (two_factor.RECOVERY, None)
    assert signed_in(client) and not signed_in(elsewhere)  # a stolen session is cut off


def test_setting_up_from_the_account_page_needs_the_password_and_ends_other_sessions(
    make_user, login_as
):
    board = make_user(role=Role.BOARD_MEMBER)
    here, elsewhere = login_as(board), login_as(board)
    url = "/account/two-factor/set-up"
    page = here.get(url)
    assert b"Current password" in page.data
    code = code_for(board, seed=key_on_page(page))
    missing = here.post(url, data={"code": code})
    assert b"Enter your current password" in missing.data
    assert f'value="{code}"'.encode() in missing.data  # what was typed is kept
    wrong = here.post(url, data={"code": code, "current_password": "a guess at it"})
    assert b"Your current password is not right" in wrong.data
    db.session.refresh(board)
    assert not two_factor.is_enabled(board)  # a session alone cannot enrol its own app

    here.post(url, data={"code": code, "current_password": TEST_PASSWORD})
    db.session.refresh(board)
    assert two_factor.is_enabled(board)
    assert signed_in(here)
    assert not signed_in(elsewhere)  # one opened with the password alone does not survive


def test_an_administrator_resets_a_lost_phone_and_the_password_with_it(
    make_user, login_as, app, required
):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    officer_client = login_as(officer)
    admin = make_user(role=Role.ADMINISTRATOR)
    response = login_as(admin).post(f"/admin/users/{officer.id}/reset-two-factor")
    assert response.status_code == 200
    assert b"Two-factor sign-in and password reset" in response.data
    link = re.search(rb'id="password-link">[^<]*/set-password/([^<\s]+)<', response.data)
    db.session.refresh(officer)
    assert officer.two_factor_enabled_at is None and officer.totp_secret is None
    assert officer.password_hash is None  # whoever knew the old one cannot set up an app
    assert db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == officer.id)) is None
    assert not signed_in(officer_client)  # their sessions ended
    assert "two_factor_off" in actions()
    fresh = app.test_client()
    assert b"Enter a correct email" in sign_in(fresh, officer).data
    new_password = "a brand new long passphrase"
    fresh.post(
        f"/set-password/{link.group(1).decode()}",
        data={"password": new_password, "confirm": new_password},
    )
    again = fresh.post("/sign-in", data={"email": officer.email, "password": new_password})
    assert again.headers["Location"].endswith("/sign-in/set-up-two-factor")


def test_a_key_shown_to_someone_else_is_never_the_one_confirmed(client, app, make_user, required):
    officer = make_user(role=Role.OFFICER)
    sign_in(client, officer)
    seen_by_an_intruder = key_on_page(client.get("/sign-in/set-up-two-factor"))
    real_browser = app.test_client()
    sign_in(real_browser, officer)
    real_key = key_on_page(real_browser.get("/sign-in/set-up-two-factor"))
    assert real_key != seen_by_an_intruder
    real_browser.post("/sign-in/set-up-two-factor", data={"code": code_for(officer, seed=real_key)})
    db.session.refresh(officer)
    assert two_factor._seed(officer) == real_key
    late = client.post(
        "/sign-in/set-up-two-factor", data={"code": code_for(officer, 1, seed=seen_by_an_intruder)}
    )
    # The owner's set-up ended every other sign-in of theirs, this half-finished one too.
    assert late.headers["Location"].endswith("/sign-in")
    assert not signed_in(client)
    db.session.refresh(officer)
    assert two_factor._seed(officer) == real_key


def test_the_same_code_at_the_same_moment_signs_in_only_once(app, make_user, required):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        sign_in(client, officer)
    code, results = code_for(officer, 1), []
    barrier = threading.Barrier(2)

    def send(client):
        barrier.wait()
        results.append(client.post("/sign-in/two-factor", data={"code": code}).status_code)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [200, 302]
    assert sum(signed_in(client) for client in clients) == 1


def test_a_changed_secret_key_asks_for_a_reset_and_never_falls_back_to_the_password(
    app, client, make_user, monkeypatch
):
    board = make_user(role=Role.BOARD_MEMBER)  # chose two-factor; not required of them
    enrol(board)
    monkeypatch.setattr(app, "secret_key", "a different key after a rotation")
    assert sign_in(client, board).headers["Location"].endswith("/sign-in/two-factor")
    page = client.post("/sign-in/two-factor", data={"code": "123456"})
    assert b"Ask your PAM administrator to reset your two-factor sign-in" in page.data
    assert not signed_in(client)


def test_failed_sign_ins_by_a_stranger_do_not_stop_a_signed_in_decision_maker(
    app, client, make_user, login_as, decision_factory
):
    decision = decision_factory(status="submitted")
    maker = make_user(role=Role.DECISION_MAKER)
    enrol(maker)
    working = login_as(maker)
    for _ in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"] + 2):
        client.post("/sign-in", data={"email": maker.email, "password": "guessing wrongly"})
    response = working.post(
        f"/decisions/{decision.id}/decide",
        data={"outcome": "approved", "second_factor_code": code_for(maker, 1)},
    )
    assert response.status_code == 302
    db.session.refresh(decision)
    assert decision.status == DecisionStatus.APPROVED


def test_wrong_codes_on_the_decision_form_lock_that_form_only(
    app, make_user, login_as, decision_factory
):
    decision = decision_factory(status="submitted")
    maker = make_user(role=Role.DECISION_MAKER)
    enrol(maker)
    working = login_as(maker)
    url = f"/decisions/{decision.id}/decide"
    for _ in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        working.post(url, data={"outcome": "approved", "second_factor_code": "000000"})
    locked = working.post(
        url, data={"outcome": "approved", "second_factor_code": code_for(maker, 1)}
    )
    assert b"Too many failed attempts" in locked.data
    assert sign_in(app.test_client(), maker).status_code == 302  # sign-in itself unaffected


def test_a_password_only_session_ends_once_two_factor_becomes_required(app, make_user, login_as):
    officer = make_user(role=Role.OFFICER)
    client = app.test_client()
    assert sign_in(client, officer).status_code == 302 and signed_in(client)
    app.config["PAM_REQUIRE_TWO_FACTOR"] = True
    try:
        assert not signed_in(client)
    finally:
        app.config["PAM_REQUIRE_TWO_FACTOR"] = False


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
    assert b"already been used. Wait for your app to show a new code" in replayed.data
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


def test_the_seed_is_redacted_in_the_audit_trail(make_user):
    user = make_user(role=Role.OFFICER)
    enrol(user)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "two_factor_on"))
    assert "totp_secret" in event.changes and "two_factor_enabled_at" in event.changes
    assert user.totp_secret not in str(event.changes)
    assert two_factor._seed(user) not in str(event.changes)


def test_a_code_typed_with_spaces_works_at_set_up_as_it_does_at_sign_in(
    client, make_user, required
):
    officer = make_user(role=Role.OFFICER)
    sign_in(client, officer)
    seed = key_on_page(client.get("/sign-in/set-up-two-factor"))
    code = code_for(officer, seed=seed)
    client.post("/sign-in/set-up-two-factor", data={"code": f" {code[:3]} {code[3:]} "})
    assert signed_in(client)
    later = code_for(officer, 1)
    assert two_factor.verify(officer, f"{later[:3]} {later[3:]}") == (two_factor.APP, None)


def test_a_right_code_on_the_account_page_clears_the_wrong_ones_before_it(app, make_user, login_as):
    user = make_user(role=Role.OFFICER)
    enrol(user)
    client = login_as(user)
    url = "/account/two-factor/recovery-codes"
    for _ in range(app.config["PAM_LOGIN_MAX_FAILURES_PER_ACCOUNT"] - 1):
        client.post(url, data={"code": "000000"})
    page = client.post(url, data={"code": code_for(user, 1)})
    codes = re.findall(rb"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.data)
    client.post(url, data={"code": "000000"})  # one slip after a right code
    again = client.post(url, data={"code": codes[0].decode()}, follow_redirects=True)
    assert b"Too many failed attempts" not in again.data
    assert b"Your new recovery codes" in again.data


@pytest.mark.parametrize("ending", ["deactivation", "a password change", "signing out"])
def test_a_half_finished_sign_in_ends_with_the_users_other_sessions(
    client, make_user, login_as, ending, required
):
    officer = make_user(role=Role.OFFICER)
    enrol(officer)
    sign_in(client, officer)  # the password is given; the code is not yet
    if ending == "deactivation":
        admin = login_as(make_user(role=Role.ADMINISTRATOR))
        admin.post(f"/admin/users/{officer.id}/deactivate")
    elif ending == "a password change":
        new = "a completely new passphrase"
        login_as(officer).post(
            "/account/password",
            data={"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
        )
    else:
        login_as(officer).post("/sign-out")
    response = client.post(
        "/sign-in/two-factor", data={"code": code_for(officer, 1)}, follow_redirects=True
    )
    assert response.request.path == "/sign-in"
    assert b"not finished within" not in response.data  # the time was not the reason
    assert b"Sign in again: your account changed before that sign-in was finished" in (
        response.data
    )
    assert not signed_in(client)


def test_turning_two_factor_off_ends_every_other_session(make_user, login_as):
    board = make_user(role=Role.BOARD_MEMBER)
    enrol(board)
    here, elsewhere = login_as(board), login_as(board)
    here.post("/account/two-factor/turn-off", data={"code": code_for(board, 1)})
    assert not signed_in(elsewhere)


def test_a_code_from_one_step_ago_is_accepted_but_not_from_two(make_user, monkeypatch):
    board = make_user(role=Role.BOARD_MEMBER)
    enrol(board)  # claims this step's code
    later = time.time() + 3 * 30
    monkeypatch.setattr(time, "time", lambda: later)
    assert two_factor.verify(board, code_for(board, -2)) == (None, two_factor.WRONG_CODE)
    assert two_factor.verify(board, code_for(board, 2)) == (None, two_factor.WRONG_CODE)
    assert two_factor.verify(board, code_for(board, -1)) == (two_factor.APP, None)


@pytest.mark.parametrize("for_providers", [True, False])
def test_provider_users_need_two_factor_only_when_the_setting_says(
    app, client, make_user, monkeypatch, for_providers, required
):
    provider_user = make_user(role=Role.PROVIDER)
    monkeypatch.setitem(app.config, "PAM_REQUIRE_TWO_FACTOR_FOR_PROVIDERS", for_providers)
    response = sign_in(client, provider_user)
    assert response.headers["Location"].endswith("/sign-in/set-up-two-factor") == for_providers
    assert signed_in(client) != for_providers


def test_recovery_codes_are_stored_as_hashes_keyed_with_the_secret_key(app, make_user, monkeypatch):
    user = make_user(role=Role.OFFICER)
    raw = enrol(user)[0].replace("-", "")
    stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert two_factor._code_hash(user, raw) in stored
    plain = {hashlib.sha256(text.encode()).hexdigest() for text in (raw, f"{user.id}:{raw}")}
    assert not plain & stored  # a copy of the table alone cannot be searched offline
    monkeypatch.setattr(app, "secret_key", "another key")
    assert two_factor._code_hash(user, raw) not in stored


def test_the_set_up_key_is_never_cached(client, make_user, required):
    sign_in(client, make_user(role=Role.OFFICER))
    page = client.get("/sign-in/set-up-two-factor")
    assert b"two-factor-key" in page.data and page.headers.get("Cache-Control") == "no-store"
