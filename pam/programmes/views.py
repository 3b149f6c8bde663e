"""The delivery plan (a board-ready progress view) and the risk register."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from pam.auth.permissions import Permission, can, require
from pam.core.forms import save_change, whole_number
from pam.core.periods import today_in_uk
from pam.extensions import db
from pam.programmes import services
from pam.programmes.forms import (
    CaseForm,
    MilestoneForm,
    PilotForm,
    ProgressForm,
    RiskForm,
    RiskReviewForm,
    SessionForm,
    SiteForm,
    TitleForm,
)
from pam.programmes.models import (
    Milestone,
    Objective,
    PanelSession,
    Pilot,
    PilotSite,
    PlanAction,
    Risk,
)
from pam.providers.models import Area

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


# --- pilots ----------------------------------------------------------------------------------


@bp.get("/pilots")
@require(Permission.VIEW_PROGRAMMES)
def pilots():
    return render_template(
        "programmes/pilots.html",
        pilots=db.session.scalars(select(Pilot).order_by(Pilot.name)).all(),
    )


@bp.route("/pilots/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_pilot():
    form = PilotForm()
    if form.validate_on_submit():
        pilot = save_change(
            form,
            lambda: services.add_pilot(
                current_user, form.name.data, form.description.data, form.start_on.data
            ),
        )
        if pilot is not None:
            return redirect(url_for("programmes.pilot", pilot_id=pilot.id))
    return _page(form, "Add a pilot", url_for("programmes.pilots"))


@bp.get("/pilots/<int:pilot_id>")
@require(Permission.VIEW_PROGRAMMES)
def pilot(pilot_id: int):
    pilot = db.session.get(Pilot, pilot_id) or abort(404)
    return render_template(
        "programmes/pilot.html",
        pilot=pilot,
        summary=services.pilot_summary(pilot),
        can_manage=can(current_user, Permission.MANAGE_PROGRAMMES),
    )


@bp.route("/pilots/<int:pilot_id>/sites/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_site(pilot_id: int):
    pilot = db.session.get(Pilot, pilot_id) or abort(404)
    form = SiteForm()
    form.area_id.choices = [SelectChoice("", "Choose the area")] + [
        SelectChoice(a.id, a.name)
        for a in db.session.scalars(
            select(Area).where(Area.is_active.is_(True)).order_by(Area.name)
        )
    ]
    if form.validate_on_submit() and save_change(
        form, lambda: services.add_site(current_user, pilot, form.area_id.data, form.name.data)
    ):
        return redirect(url_for("programmes.pilot", pilot_id=pilot.id))
    return _page(
        form, "Add a site", url_for("programmes.pilot", pilot_id=pilot.id), caption=pilot.name
    )


@bp.route("/pilots/sites/<int:site_id>/sessions/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PROGRAMMES)
def new_session(site_id: int):
    site = db.session.get(PilotSite, site_id) or abort(404)
    form = SessionForm()
    if form.validate_on_submit():
        session = save_change(
            form,
            lambda: services.add_session(
                current_user, site, form.held_on.data, whole_number(form.volunteers.data) or 0
            ),
        )
        if session is not None:
            return redirect(url_for("programmes.panel_session", session_id=session.id))
    return _page(
        form,
        "Add a panel session",
        url_for("programmes.pilot", pilot_id=site.pilot_id),
        caption=site.name,
    )


@bp.route("/pilots/sessions/<int:session_id>", methods=["GET", "POST"])
@require(Permission.VIEW_PROGRAMMES)
def panel_session(session_id: int):
    from pam.outcomes.models import BREAKDOWNS

    session = db.session.get(PanelSession, session_id) or abort(404)
    form = CaseForm()
    form.referral_source.choices = [SelectChoice("", "Choose")] + [
        SelectChoice(c, c) for c in BREAKDOWNS["referral_source"][1]
    ]
    form.offence_category.choices = [SelectChoice("", "Choose")] + [
        SelectChoice(c, c) for c in BREAKDOWNS["crime_type"][1]
    ]
    form.outcome_agreed.choices = [SelectChoice("", "Choose")] + [
        SelectChoice(o, o) for o in services.OUTCOMES
    ]
    if request.method == "POST":
        if not can(current_user, Permission.MANAGE_PROGRAMMES):
            abort(403)
        if form.validate_on_submit():
            fields = {
                **form.data,
                "outcome_completed": {"yes": True, "no": False}.get(form.outcome_completed.data),
                "victim_satisfaction": whole_number(form.victim_satisfaction.data),
            }
            if save_change(form, lambda: services.add_case(current_user, session, fields)):
                flash("The case has been added", "success")
                return redirect(url_for("programmes.panel_session", session_id=session.id))
    return render_template(
        "programmes/session.html",
        session=session,
        form=form,
        can_manage=can(current_user, Permission.MANAGE_PROGRAMMES),
    )
