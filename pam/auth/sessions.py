"""How a signed-in session starts and ends.

A session ends after PAM_SESSION_IDLE_MINUTES without a request, or PAM_SESSION_MAX_HOURS
after sign-in, whichever comes first. Both times live in the signed session cookie, so
every server process enforces them without shared state. Ending *every* session of a user
at once (sign-out, password, role or organisation change, deactivation) is done by
bumping User.session_version, which is part of the session's identity (User.get_id).
"""

from __future__ import annotations

import time
from typing import NamedTuple

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from pam.auth.models import User
from pam.auth.permissions import must_use_two_factor
from pam.extensions import db

STARTED = "pam_started"
SEEN = "pam_seen"
SECOND_FACTOR_AT = "pam_second_factor_at"
# Refresh the "last seen" stamp at most this often, so the cookie is not rewritten on
# every request; the idle limit is then exact to within this many seconds.
_SEEN_RESOLUTION_SECONDS = 60


PENDING = "pam_pending_sign_in"
# How long someone who got their password right has to give their second factor...
PENDING_LIFETIME_SECONDS = 5 * 60
# ...or to set up an app, which can mean finding and installing one first.
SET_UP_LIFETIME_SECONDS = 15 * 60


class PendingSignIn(NamedTuple):
    """A sign-in waiting for its second factor: the user and where they were going, or
    no user and a message saying truthfully why they must sign in again."""

    user: User | None
    destination: str | None = None
    why_not: str = "Sign in to continue"


def user_for_session_id(session_id: str) -> User | None:
    """The user a session id ("user id:session version") stands for, while that user is
    active and the version current: a signed-in session and a half-finished sign-in end
    alike when the user signs out everywhere, changes password or is deactivated."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active_account or user.session_version != int(version):
        return None
    return user


def await_second_factor(user, destination: str):
    """The password was right: remember who is half signed in, and ask for the second
    factor (or, for someone who must use one but has none yet, to set it up)."""
    from pam.auth import two_factor

    kept = two_factor.pending_set_up_of(user)  # the app they already added keeps working
    session.clear()
    session.update(kept)
    session[PENDING] = {"user": user.get_id(), "at": time.time(), "next": destination}
    endpoint = "two_factor.verify" if two_factor.is_enabled(user) else "two_factor.sign_in_set_up"
    return redirect(url_for(endpoint))


def pending_sign_in(lifetime: int = PENDING_LIFETIME_SECONDS) -> PendingSignIn:
    """The sign-in waiting for its second factor in this browser, if it is still good."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int | float):
        return PendingSignIn(None)
    if time.time() - pending["at"] > lifetime:
        session.pop(PENDING, None)
        late = f"Sign in again: that sign-in was not finished within {lifetime // 60} minutes"
        return PendingSignIn(None, why_not=late)
    user = user_for_session_id(str(pending.get("user", "")))
    if user is None:
        # Signed out everywhere, a new password or deactivation since the password step.
        session.pop(PENDING, None)
        return PendingSignIn(
            None, why_not="Sign in again: your account changed before that sign-in was finished"
        )
    return PendingSignIn(user, pending.get("next") or url_for("core.home"))


def start(user, *, second_factor: bool) -> None:
    """Sign the user in on a fresh session (nothing carried over from before sign-in)."""
    session.clear()
    login_user(user)
    now = time.time()
    session[STARTED] = now
    session[SEEN] = now
    if second_factor:
        session[SECOND_FACTOR_AT] = now


def carry_on(user) -> None:
    """Keep this session under the user's new session version, after a change (a new
    password, two-factor turned on, new recovery codes) bumped it to end every other."""
    login_user(user)


def end() -> None:
    """Forget this browser's session entirely."""
    logout_user()
    session.clear()


def expiry_reason(now: float | None = None) -> str | None:
    """Why the current session has run out, or None while it is still good."""
    now = time.time() if now is None else now
    started, seen = session.get(STARTED), session.get(SEEN)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return "Your session has ended. Sign in again."
    config = current_app.config
    if now - started > config["PAM_SESSION_MAX_HOURS"] * 3600:
        return (
            f"You have been signed out because you signed in more than "
            f"{config['PAM_SESSION_MAX_HOURS']} hours ago. Sign in again."
        )
    if SECOND_FACTOR_AT not in session and must_use_two_factor(current_user):
        # Signed in with a password alone before two-factor became required of them.
        return "Sign in again: your role now needs a code from an authenticator app."
    if now - seen > config["PAM_SESSION_IDLE_MINUTES"] * 60:
        return (
            f"You have been signed out because you had not used PAM for "
            f"{config['PAM_SESSION_IDLE_MINUTES']} minutes. Sign in again."
        )
    return None


def register_timeouts(app: Flask) -> None:
    @app.before_request
    def enforce_session_timeouts():
        # Signing out is always allowed through, so it still ends every other session.
        if request.endpoint in (None, "static", "auth.logout"):
            return None
        if not current_user.is_authenticated:
            return None
        reason = expiry_reason()
        if reason is None:
            now = time.time()
            if now - session[SEEN] >= _SEEN_RESOLUTION_SECONDS:
                session[SEEN] = now
            return None
        end()
        flash(reason, "info")
        # After signing in again, a GET comes back to where it was; a POST cannot be
        # replayed, so its form page (the referrer is not trusted) is left to the user.
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
