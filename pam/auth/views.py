"""Sign in, sign out, own account, set-password links, and user administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from pam.auth import services, sessions, two_factor
from pam.auth.forms import ChangePasswordForm, ConfirmForm, LoginForm, SetPasswordForm, UserForm
from pam.auth.models import ROLE_LABELS, Role, User
from pam.auth.permissions import (
    Permission,
    can_change_user,
    must_use_two_factor,
    refuse,
    require,
    token_scopes_allowed,
)
from pam.core.exceptions import BusinessRuleError
from pam.core.forms import page_number, show_rule_error
from pam.extensions import db, login_manager
from pam.providers.models import Organisation, OrganisationKind

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to see this page"
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """A session is valid only while its user is active and its version is current."""
    return sessions.user_for_session_id(session_id)


def _safe_next(target: str | None) -> str:
    """Only a local path may be a post-sign-in destination (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("core.home")


@bp.route("/sign-in", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.check_password(form.email.data, form.password.data, request.remote_addr)
        if result.user is None:
            db.session.commit()  # keep the failure (throttling and the audit trail)
            form.email.errors = []
            form.form_errors.append(
                services.lockout_message(result.wait_seconds)
                if result.throttled
                else "Enter a correct email address and password"
            )
            return render_template("auth/login.html", form=form), 200
        user, destination = result.user, _safe_next(request.args.get("next"))
        if two_factor.is_enabled(user) or must_use_two_factor(user):
            db.session.commit()  # a rehashed password
            return sessions.await_second_factor(user, destination)
        services.complete_sign_in(user, "password")
        sessions.start(user, second_factor=False)
        db.session.commit()
        return redirect(destination)
    return render_template("auth/login.html", form=form)


@bp.post("/sign-out")
@login_required
def logout():
    services.sign_out(current_user._get_current_object())
    db.session.commit()
    sessions.end()
    flash("You have signed out of PAM on every device", "success")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@login_required
def account():
    return render_template(
        "auth/account.html",
        user=current_user,
        can_make_api_tokens=bool(token_scopes_allowed(current_user)),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()  # the record itself is changed, not the proxy
    if form.validate_on_submit():
        problem = services.current_password_problem(user, form.current_password.data)
        if problem:
            db.session.commit()  # the wrong guess counts towards a lockout
            form.current_password.errors.append(problem)
            return render_template("auth/change_password.html", form=form)
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            sessions.carry_on(user)
            flash("Your password has been changed. Other sessions have been signed out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    link = services.find_link(token)
    if link is None:
        return render_template("auth/link_expired.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password_from_link(link, form.password.data)
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            sessions.end()
            flash("Your password has been saved. You can now sign in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, link=link)


# --- user administration --------------------------------------------------------------


def _provider_organisations():
    return db.session.scalars(
        select(Organisation)
        .where(Organisation.kind != OrganisationKind.OPCC, Organisation.is_active.is_(True))
        .order_by(Organisation.name)
    ).all()


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/users")
@require(Permission.MANAGE_USERS)
def users():
    role = request.args.get("role", "")
    status = request.args.get("status", "active")
    search = request.args.get("q", "").strip()
    query = select(User).order_by(User.full_name)
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if status == "active":
        query = query.where(User.is_active_account.is_(True))
    elif status == "deactivated":
        query = query.where(User.is_active_account.is_(False))
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(User.email.like(pattern), User.full_name.ilike(pattern)))
    page = db.paginate(
        query, page=page_number(), per_page=current_app.config["PAM_PAGE_SIZE"], error_out=False
    )
    return render_template(
        "auth/users.html",
        page=page,
        role=role,
        status=status,
        search=search,
        role_labels=ROLE_LABELS,
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def new_user():
    form = UserForm()
    form.set_organisation_choices(_provider_organisations())
    if form.validate_on_submit():
        try:
            user = services.create_user(
                current_user,
                email=form.email.data,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                organisation_id=form.organisation_id.data,
                job_title=form.job_title.data,
                is_organisation_admin=form.is_organisation_admin.data,
            )
            token = services.invite_user(current_user, user)
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            return render_template(
                "auth/link_issued.html", user=user, token=token, purpose="invitation"
            )
    return render_template("auth/user_form.html", form=form, user=None)


@bp.get("/admin/users/<int:user_id>")
@require(Permission.MANAGE_USERS)
def user_detail(user_id: int):
    user = _get_user(user_id)
    return render_template(
        "auth/user_detail.html",
        user=user,
        form=ConfirmForm(),
        can_change=can_change_user(current_user, user),
    )


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def edit_user(user_id: int):
    user = _get_user(user_id)
    form = UserForm(obj=user)
    form.set_organisation_choices(_provider_organisations())
    if request.method == "GET":
        form.role.data = user.role.value
        form.organisation_id.data = user.organisation_id if user.is_provider else None
    if form.validate_on_submit():
        try:
            services.update_user(
                current_user,
                user,
                full_name=form.full_name.data,
                email=form.email.data,
                job_title=form.job_title.data,
                role=Role(form.role.data),
                organisation_id=form.organisation_id.data,
                is_organisation_admin=form.is_organisation_admin.data,
            )
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            flash(f"{user.full_name}'s details have been saved", "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=user)


def confirmed_target(user_id: int) -> User:
    """The user a confirmed POST-only account action (deactivate, resets) applies to:
    404 if unknown, 400 without the confirmation form, refused for one's own account."""
    user = _get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not can_change_user(current_user, user):
        refuse(current_user)
    return user


def _confirmed_change(user_id: int, change, message: str):
    """Shared body of the POST-only account actions (deactivate, reactivate)."""
    user = confirmed_target(user_id)
    try:
        change(user)
    except BusinessRuleError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message.format(name=user.full_name), "success")
    return redirect(url_for("auth.user_detail", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/deactivate")
@require(Permission.MANAGE_USERS)
def deactivate_user(user_id: int):
    return _confirmed_change(
        user_id,
        lambda user: services.set_active(current_user, user, False),
        "{name} has been deactivated and signed out everywhere",
    )


@bp.post("/admin/users/<int:user_id>/reactivate")
@require(Permission.MANAGE_USERS)
def reactivate_user(user_id: int):
    return _confirmed_change(
        user_id,
        lambda user: services.set_active(current_user, user, True),
        "{name} has been reactivated",
    )


@bp.post("/admin/users/<int:user_id>/reset-password")
@require(Permission.MANAGE_USERS)
def reset_password(user_id: int):
    user = confirmed_target(user_id)
    token = services.reset_password(current_user, user)
    db.session.commit()
    return render_template("auth/link_issued.html", user=user, token=token, purpose="reset")
