"""The delivery plan (a board-ready progress view) and the risk register."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from pam.auth.permissions import Permission, can, require
from pam.core.forms import save_change
from pam.core.periods import today_in_uk
from pam.extensions import db
from pam.programmes import services
from pam.programmes.forms import MilestoneForm, ProgressForm, RiskForm, RiskReviewForm, TitleForm
from pam.programmes.models import Milestone, Objective, PlanAction, Risk

bp = Blueprint("programmes", __name__)


def _page(form, heading: str, back: str, **context):
    return render_template(
        "core/form_page.html", form=form, heading=heading, back_url=back, **context
    )


@bp.get("/plan")
@require(Permission.VIEW_PROGRAMMES)
def plan():
    objectives = db.session.scalars(select(Objective).order_by(Objective.position, Objective.id))
    return render_template(
        "programmes/plan.html",
        objectives=objectives.all(),
        today=today_in_uk(),
        can_manage=can(current_user, Permission.MANAGE_PROGRAMMES),
    )


@bp.route("/plan/objectives/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_objective():
    form = TitleForm()
    if form.validate_on_submit() and save_change(
        form, lambda: services.add_objective(current_user, form.title.data)
    ):
        flash("The objective has been added", "success")
        return redirect(url_for("programmes.plan"))
    return _page(form, "Add an objective", url_for("programmes.plan"))


@bp.route("/plan/objectives/<int:objective_id>/actions/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_action(objective_id: int):
    objective = db.session.get(Objective, objective_id) or abort(404)
    form = TitleForm()
    if form.validate_on_submit() and save_change(
        form, lambda: services.add_action(current_user, objective, form.title.data)
    ):
        flash("The action has been added", "success")
        return redirect(url_for("programmes.plan"))
    return _page(form, "Add an action", url_for("programmes.plan"), caption=objective.title)


@bp.route("/plan/actions/<int:action_id>/milestones/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_milestone(action_id: int):
    action = db.session.get(PlanAction, action_id) or abort(404)
    form = MilestoneForm()
    if form.validate_on_submit() and save_change(
        form,
        lambda: services.add_milestone(
            current_user, action, form.title.data, form.owner.data, form.due_on.data
        ),
    ):
        flash("The milestone has been added", "success")
        return redirect(url_for("programmes.plan"))
    return _page(form, "Add a milestone", url_for("programmes.plan"), caption=action.title)


@bp.route("/plan/milestones/<int:milestone_id>/progress", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def progress(milestone_id: int):
    milestone = db.session.get(Milestone, milestone_id) or abort(404)
    form = ProgressForm()
    if request.method == "GET":
        form.status.data, form.rag.data = milestone.status.value, milestone.rag
    if form.validate_on_submit() and save_change(
        form,
        lambda: services.record_progress(
            current_user, milestone, today_in_uk(), form.note.data, form.status.data, form.rag.data
        ),
    ):
        flash("The progress update has been recorded", "success")
        return redirect(url_for("programmes.plan"))
    return _page(form, "Record progress", url_for("programmes.plan"), caption=milestone.title)


@bp.get("/risks")
@require(Permission.VIEW_PROGRAMMES)
def risks():
    show_closed = request.args.get("closed") == "yes"
    query = select(Risk).where(Risk.is_closed.is_(show_closed))
    rows = sorted(db.session.scalars(query), key=lambda r: (-r.score, r.review_on))
    return render_template(
        "programmes/risks.html", risks=rows, today=today_in_uk(), show_closed=show_closed
    )


@bp.route("/risks/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_risk():
    form = RiskForm()
    if form.validate_on_submit() and save_change(
        form, lambda: services.add_risk(current_user, form.data)
    ):
        flash("The risk has been added to the register", "success")
        return redirect(url_for("programmes.risks"))
    return _page(form, "Add a risk", url_for("programmes.risks"))


@bp.route("/risks/<int:risk_id>", methods=["GET", "POST"])
@require(Permission.VIEW_PROGRAMMES)
def risk(risk_id: int):
    risk = db.session.get(Risk, risk_id) or abort(404)
    form = RiskReviewForm(obj=risk)
    if request.method == "GET":
        form.likelihood.data, form.impact.data = str(risk.likelihood), str(risk.impact)
        form.review_on.data = None
    if request.method == "POST":
        if not can(current_user, Permission.MANAGE_PROGRAMMES):
            abort(403)
        if form.validate_on_submit() and save_change(
            form, lambda: services.review_risk(current_user, risk, form.data, today_in_uk())
        ):
            flash("The review has been recorded", "success")
            return redirect(url_for("programmes.risk", risk_id=risk.id))
    return render_template(
        "programmes/risk.html",
        risk=risk,
        form=form,
        can_manage=can(current_user, Permission.MANAGE_PROGRAMMES),
    )
