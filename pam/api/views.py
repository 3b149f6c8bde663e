"""The portal pages where people make and revoke API tokens (the API is in pam.api.v1)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from pam.api import tokens
from pam.api.forms import TokenForm
from pam.api.models import ApiToken, Scope
from pam.auth.forms import ConfirmForm
from pam.auth.permissions import refuse, token_scopes_allowed
from pam.core.forms import save_change
from pam.extensions import db

bp = Blueprint("api_tokens", __name__)


def _allowed() -> frozenset[Scope]:
    allowed = token_scopes_allowed(current_user)
    if not allowed:
        refuse(current_user)
    return allowed


@bp.get("/account/api-tokens")
@login_required
def index():
    _allowed()
    return render_template(
        "api/tokens.html",
        tokens=tokens.tokens_visible_to(current_user),
        status=tokens.status,
        form=ConfirmForm(),
    )


@bp.route("/account/api-tokens/new", methods=["GET", "POST"])
@login_required
def new():
    form = TokenForm()
    form.offer(_allowed())
    if form.validate_on_submit():
        made = save_change(
            form,
            lambda: tokens.create_token(
                current_user,
                form.name.data,
                {Scope(value) for value in form.scopes.data},
                int(form.lifetime_days.data),
            ),
        )
        if made is not None:
            token, text = made
            return render_template("api/token_created.html", token=token, text=text)
    return render_template(
        "core/form_page.html",
        form=form,
        heading="Create an API token",
        intro="A token lets another system use PAM's API as you"
        + (
            ", for your organisation. Any of its provider administrators can see and revoke it."
            if current_user.is_provider
            else ". It can read what you can read, and change nothing."
        ),
        back_url=url_for("api_tokens.index"),
    )


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    _allowed()
    token = db.session.get(ApiToken, token_id) or abort(404)
    if token not in tokens.tokens_visible_to(current_user):
        refuse(current_user)
    form = ConfirmForm()
    if form.validate_on_submit() and save_change(
        form, lambda: tokens.revoke_token(current_user, token) or True
    ):
        flash(f"The token “{token.name}” no longer works", "success")
    return redirect(url_for("api_tokens.index"))
