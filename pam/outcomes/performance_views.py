"""An officer's performance decisions on a contract: the annual rating and escalations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pam.auth.forms import ConfirmForm
from pam.auth.permissions import Permission, can_view_contract, refuse, require
from pam.contracts.models import Contract
from pam.core.forms import save_change
from pam.core.periods import FinancialYear, today_in_uk
from pam.core.progress import ProgressStatus
from pam.extensions import db
from pam.outcomes import services
from pam.outcomes.forms import ActionForm, CloseEscalationForm, EscalationForm, RatingForm
from pam.outcomes.models import Escalation, EscalationAction
from pam.outcomes.performance import contract_performance, years_of

bp = Blueprint("performance", __name__)


def _contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id) or abort(404)
    if not can_view_contract(current_user, contract):
        refuse(current_user)
    return contract


def _back(contract: Contract, year: FinancialYear | None = None) -> str:
    args = {"year": year.label.replace("/", "-")} if year else {}
    return url_for("contracts.detail", contract_id=contract.id, _anchor="performance", **args)


def _page(form, contract: Contract, heading: str, back: str, **context):
    return render_template(
        "core/form_page.html",
        form=form,
        heading=heading,
        caption=f"{contract.reference} {contract.title}",
        back_url=back,
        **context,
    )


@bp.route("/contracts/<int:contract_id>/ratings/<year_slug>", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def rate(contract_id: int, year_slug: str):
    contract = _contract(contract_id)
    try:
        year = FinancialYear.parse(year_slug.replace("-", "/"))
    except ValueError:
        abort(404)
    if year not in years_of(contract, today_in_uk()):
        abort(404)
    proposed = contract_performance(contract, year).proposed_rating()
    form = RatingForm()
    if request.method == "GET":
        form.rating.data = proposed
    if form.validate_on_submit():
        saved = save_change(
            form,
            lambda: services.confirm_rating(
                current_user, contract, year.label, proposed, form.rating.data, form.reason.data
            ),
        )
        if saved is not None:
            flash(f"{year.label} rated {saved.rating}", "success")
            return redirect(_back(contract, year))
    return _page(
        form,
        contract,
        f"Performance rating for {year.label}",
        _back(contract, year),
        intro=f"Proposed from the year's RAG ratings: {proposed}. Confirm it, or choose another "
        "rating and say why.",
    )


@bp.route("/contracts/<int:contract_id>/escalations/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def open_escalation(contract_id: int):
    contract = _contract(contract_id)
    form = EscalationForm()
    if form.validate_on_submit():
        saved = save_change(
            form, lambda: services.open_escalation(current_user, contract, form.reason.data)
        )
        if saved is not None:
            flash("The escalation is open: add the improvement plan's actions", "success")
            return redirect(_back(contract))
    return _page(form, contract, "Open an escalation", _back(contract))


def _escalation(contract: Contract, escalation_id: int) -> Escalation:
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None or escalation.contract_id != contract.id:
        abort(404)
    return escalation


@bp.route(
    "/contracts/<int:contract_id>/escalations/<int:escalation_id>/actions/new",
    methods=["GET", "POST"],
)
@require(Permission.MANAGE_CONTRACTS)
def add_action(contract_id: int, escalation_id: int):
    contract = _contract(contract_id)
    escalation = _escalation(contract, escalation_id)
    form = ActionForm()
    if form.validate_on_submit():
        saved = save_change(
            form,
            lambda: services.add_action(
                current_user, escalation, form.description.data, form.owner.data, form.due_on.data
            ),
        )
        if saved is not None:
            flash("The action has been added to the improvement plan", "success")
            return redirect(_back(contract))
    return _page(form, contract, "Add an action to the improvement plan", _back(contract))


@bp.post("/contracts/<int:contract_id>/escalations/<int:escalation_id>/actions/<int:action_id>")
@require(Permission.MANAGE_CONTRACTS)
def action_status(contract_id: int, escalation_id: int, action_id: int):
    contract = _contract(contract_id)
    escalation = _escalation(contract, escalation_id)
    action = db.session.get(EscalationAction, action_id)
    if action is None or action.escalation_id != escalation.id:
        abort(404)
    status = request.form.get("status", "")
    form = ConfirmForm()
    if form.validate_on_submit() and status in {s.value for s in ProgressStatus}:
        save_change(form, lambda: services.set_action_status(current_user, action, status) or True)
    return redirect(_back(contract))


@bp.route(
    "/contracts/<int:contract_id>/escalations/<int:escalation_id>/close", methods=["GET", "POST"]
)
@require(Permission.MANAGE_CONTRACTS)
def close_escalation(contract_id: int, escalation_id: int):
    contract = _contract(contract_id)
    escalation = _escalation(contract, escalation_id)
    form = CloseEscalationForm()
    if form.validate_on_submit():
        saved = save_change(
            form,
            lambda: (
                services.close_escalation(current_user, escalation, form.closing_note.data) or True
            ),
        )
        if saved:
            flash("The escalation has been closed", "success")
            return redirect(_back(contract))
    return _page(form, contract, "Close the escalation", _back(contract))
