"""Two-factor pages: the second step of signing in, setting up an authenticator app (at
sign-in when a role requires it, or from the account page), recovery codes, and an
administrator's reset for someone who lost their phone."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from pam.auth import services, sessions, two_factor
from pam.auth.forms import SecondFactorForm, SetUpTwoFactorForm, SignedInSetUpTwoFactorForm
from pam.auth.models import User
from pam.auth.permissions import (
    Permission,
    must_use_two_factor,
    require,
)
from pam.auth.views import confirmed_target
from pam.core.exceptions import BusinessRuleError
from pam.core.forms import show_rule_error
from pam.extensions import db

bp = Blueprint("two_factor", __name__)


def _start_again(pending: sessions.PendingSignIn):
    flash(pending.why_not, "info")
    return redirect(url_for("auth.login"))


# --- the second step of signing in -----------------------------------------------------


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
def verify():
    pending = sessions.pending_sign_in()
    user, destination = pending.user, pending.destination
    if user is None:
        return _start_again(pending)
    if not two_factor.is_enabled(user):
        return redirect(url_for("two_factor.sign_in_set_up"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        how, problem = two_factor.check(user, form.code.data, request.remote_addr)
        if problem:
            db.session.commit()  # the failure counts towards the lockout
            form.code.errors.append(problem)
        else:
            services.complete_sign_in(user, f"password and {how}")
            sessions.start(user, second_factor=True)
            db.session.commit()
            if how == two_factor.RECOVERY:
                flash(_after_a_recovery_code(user), "info")
            return redirect(destination)
    return render_template("auth/two_factor_verify.html", form=form)


def _after_a_recovery_code(user: User) -> str:
    """What someone who may have lost their phone can actually do: a role that needs two
    factors can neither turn it off nor set up a second app, so only a reset is left."""
    if must_use_two_factor(user):
        lost = (
            "If you have lost your phone, ask your PAM administrator to reset your two-factor "
            "sign-in. They will give you a link to choose a new password, and you set up your "
            "app again as you sign in."
        )
    else:
        lost = (
            "If you have lost your phone, turn two-factor sign-in off from your account page "
            "(a recovery code will do), then set it up again."
        )
    left = two_factor.recovery_codes_left(user)
    return f"You signed in with a recovery code: you have {left} left. {lost}"


@bp.route("/sign-in/set-up-two-factor", methods=["GET", "POST"])
def sign_in_set_up():
    """Someone whose role needs two-factor sign-in and who has not set it up yet."""
    if current_user.is_authenticated:  # e.g. the codes page refreshed after set-up
        return redirect(url_for("core.home"))
    pending = sessions.pending_sign_in(sessions.SET_UP_LIFETIME_SECONDS)
    user, destination = pending.user, pending.destination
    if user is None:
        return _start_again(pending)
    if two_factor.is_enabled(user):
        return redirect(url_for("two_factor.verify"))

    def signed_in(codes: list[str]):
        services.complete_sign_in(user, "password and a newly set-up authenticator app")
        sessions.start(user, second_factor=True)
        db.session.commit()
        return _show_recovery_codes(codes, destination, first_time=True)

    form = SetUpTwoFactorForm()

    def confirm():
        return two_factor.confirm(user, form.code.data)

    return _set_up_page(user, form, confirm, signed_in, cancel_url=url_for("auth.login"))


def _show_recovery_codes(
    codes: list[str], continue_url: str, *, first_time: bool, others_signed_out: bool = False
):
    """The one page that shows recovery codes (once: they are stored only as hashes)."""
    return render_template(
        "auth/recovery_codes.html",
        codes=codes,
        continue_url=continue_url,
        first_time=first_time,
        others_signed_out=others_signed_out,
    )


# --- from the account page ------------------------------------------------------------------


@bp.get("/account/two-factor")
@login_required
def manage():
    user = current_user._get_current_object()
    return render_template(
        "auth/two_factor_manage.html",
        user=user,
        enabled=two_factor.is_enabled(user),
        required=must_use_two_factor(user),
        codes_left=two_factor.recovery_codes_left(user),
        form=SecondFactorForm(),
    )


@bp.route("/account/two-factor/set-up", methods=["GET", "POST"])
@login_required
def set_up():
    user = current_user._get_current_object()
    if two_factor.is_enabled(user):
        return redirect(url_for("two_factor.manage"))

    def done(codes: list[str]):
        db.session.commit()
        sessions.carry_on(user)
        return _show_recovery_codes(
            codes, url_for("two_factor.manage"), first_time=True, others_signed_out=True
        )

    form = SignedInSetUpTwoFactorForm()

    def confirm():
        problem = services.current_password_problem(user, form.current_password.data)
        if problem:
            db.session.commit()  # the wrong guess counts towards a lockout
            raise BusinessRuleError(problem, field="current_password")
        return two_factor.confirm_with_password(user, form.current_password.data, form.code.data)

    return _set_up_page(user, form, confirm, done, cancel_url=url_for("two_factor.manage"))


def _set_up_page(user: User, form, confirm, on_success, cancel_url: str):
    """The set-up page, at sign-in or from the account page: confirm() checks what the
    form brings and turns two-factor on; on_success(codes) answers."""
    seed = two_factor.pending_seed(user)
    db.session.commit()  # the same seed is shown until it is confirmed
    if form.validate_on_submit():
        try:
            codes = confirm()
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            return on_success(codes)
    uri = two_factor.provisioning_uri(user, seed)
    return render_template(
        "auth/two_factor_set_up.html",
        form=form,
        qr_code=two_factor.qr_code_data_uri(uri),
        seed=" ".join(seed[i : i + 4] for i in range(0, len(seed), 4)),
        cancel_url=cancel_url,
    )


def _fresh_code_problem(user: User) -> str | None:
    """Check the code posted with an account change; None when it is good."""
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return next(iter(form.errors.values()), ["Enter the code from your app"])[0]
    _how, problem = two_factor.check(user, form.code.data, request.remote_addr, signed_in=True)
    return problem


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes():
    user = current_user._get_current_object()
    problem = _fresh_code_problem(user)
    if problem:
        db.session.commit()  # the failure counts towards the lockout
        flash(f"Your recovery codes were not replaced. {problem}", "error")
        return redirect(url_for("two_factor.manage"))
    codes = two_factor.new_recovery_codes(user)
    db.session.commit()
    sessions.carry_on(user)
    return _show_recovery_codes(
        codes, url_for("two_factor.manage"), first_time=False, others_signed_out=True
    )


@bp.post("/account/two-factor/turn-off")
@login_required
def turn_off():
    user = current_user._get_current_object()
    if must_use_two_factor(user):
        abort(403)  # the page offers no such button: their role needs it
    problem = _fresh_code_problem(user)
    if problem:
        db.session.commit()
        flash(f"Two-factor sign-in is still on. {problem}", "error")
        return redirect(url_for("two_factor.manage"))
    two_factor.turn_off(user, user, reason="Turned off own two-factor sign-in")
    db.session.commit()
    sessions.end()
    flash("Two-factor sign-in is off. Sign in again with your password.", "success")
    return redirect(url_for("auth.login"))


# --- an administrator's reset -------------------------------------------------------------


@bp.post("/admin/users/<int:user_id>/reset-two-factor")
@require(Permission.MANAGE_USERS)
def admin_reset(user_id: int):
    user = confirmed_target(user_id)
    two_factor.turn_off(
        current_user,
        user,
        reason="Two-factor sign-in reset by an administrator: sessions ended, "
        "to be set up again at the next sign-in",
    )
    # The password goes too: otherwise whoever knew it could set up their own app first.
    token = services.reset_password(current_user, user)
    db.session.commit()
    return render_template(
        "auth/link_issued.html", user=user, token=token, purpose="two_factor_reset"
    )
