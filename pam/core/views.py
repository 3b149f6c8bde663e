"""The home page (by role) and the pages every service needs: cookies, privacy, accessibility."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from pam.audit.models import AuditEvent
from pam.auth.models import User
from pam.auth.permissions import Permission, can, scope_contracts
from pam.extensions import db
from pam.providers.models import Organisation, OrganisationKind

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    """Signed-in users go to their home page; everyone else to sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return redirect(url_for("auth.login"))


@bp.get("/home")
@login_required
def home():
    """What this user can do, with a few live figures."""
    figures = {}
    if can(current_user, Permission.VIEW_ALL_ORGANISATIONS):
        figures["providers"] = db.session.scalar(
            select(func.count(Organisation.id)).where(
                Organisation.kind != OrganisationKind.OPCC, Organisation.is_active.is_(True)
            )
        )
    if can(current_user, Permission.MANAGE_USERS):
        figures["users"] = db.session.scalar(
            select(func.count(User.id)).where(User.is_active_account.is_(True))
        )
    return_counts = _return_counts()
    recent_events = []
    if can(current_user, Permission.VIEW_AUDIT):
        recent_events = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(5)
        ).all()
    return render_template(
        "core/home.html", figures=figures, recent_events=recent_events, returns=return_counts
    )


def _return_counts() -> dict[str, int] | None:
    """Returns needing the user's attention: a provider's own, or an officer's contracts."""
    from pam.contracts.models import Contract, ContractStatus
    from pam.core.periods import today_in_uk
    from pam.returns.services import needing_attention

    if can(current_user, Permission.SUBMIT_RETURNS):
        query = scope_contracts(current_user, select(Contract))
    elif can(current_user, Permission.REVIEW_RETURNS):
        query = select(Contract).where(Contract.contract_manager_id == current_user.id)
    else:
        return None
    contracts = db.session.scalars(
        query.where(Contract.status.in_([ContractStatus.LIVE, ContractStatus.ENDED]))
    ).all()
    return needing_attention(contracts, today_in_uk())


@bp.get("/cookies")
def cookies():
    return render_template("core/cookies.html")


@bp.get("/privacy")
def privacy():
    return render_template("core/privacy.html")


@bp.get("/accessibility")
def accessibility():
    return render_template("core/accessibility.html")
