"""Market assessment pages: the list, an assessment with its supply map and evidence,
drafting, adding evidence, publishing, and each published version."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from pam.auth.permissions import Permission, can, require
from pam.core.forms import save_change, whole_number
from pam.extensions import db
from pam.market import services
from pam.market.forms import AssessmentForm, ConsultationForm, PublishForm
from pam.market.models import SECTIONS, MarketAssessment
from pam.providers.models import Area, ServiceCategory

bp = Blueprint("market", __name__)


def _load(assessment_id: int) -> MarketAssessment:
    return db.session.get(MarketAssessment, assessment_id) or abort(404)


@bp.get("/market")
@require(Permission.VIEW_MARKET)
def index():
    assessments = db.session.scalars(
        select(MarketAssessment).order_by(MarketAssessment.updated_at.desc())
    ).all()
    return render_template("market/index.html", assessments=assessments)


@bp.get("/market/<int:assessment_id>")
@require(Permission.VIEW_MARKET)
def detail(assessment_id: int):
    assessment = _load(assessment_id)
    return render_template(
        "market/detail.html",
        assessment=assessment,
        sections=SECTIONS,
        supply=services.supply_map(assessment),
        can_manage=can(current_user, Permission.MANAGE_MARKET),
        publish_form=PublishForm(),
    )


@bp.get("/market/<int:assessment_id>/versions/<int:number>")
@require(Permission.VIEW_MARKET)
def version(assessment_id: int, number: int):
    assessment = _load(assessment_id)
    published = next((v for v in assessment.published_versions if v.number == number), None)
    if published is None:
        abort(404)
    return render_template(
        "market/version.html", assessment=assessment, published=published, sections=SECTIONS
    )


@bp.route("/market/new", methods=["GET", "POST"])
@bp.route("/market/<int:assessment_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_MARKET)
def form(assessment_id: int | None = None):
    assessment = _load(assessment_id) if assessment_id else None
    form = AssessmentForm(obj=assessment)
    form.service_category_id.choices = [SelectChoice("", "Select a service")] + [
        SelectChoice(s.id, s.name)
        for s in db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.name))
    ]
    form.areas.choices = [
        SelectChoice(a.id, a.name)
        for a in db.session.scalars(select(Area).order_by(Area.name))
        if a.is_active or (assessment and a in assessment.areas)
    ]
    if assessment is not None and request.method == "GET":
        form.areas.data = [a.id for a in assessment.areas]
        form.version.data = str(assessment.version)
        form.estimated_annual_demand.data = (
            str(assessment.estimated_annual_demand)
            if assessment.estimated_annual_demand is not None
            else ""
        )
    if form.validate_on_submit():
        fields = {name: field.data for name, field in form._fields.items()}
        fields["estimated_annual_demand"] = whole_number(form.estimated_annual_demand.data)
        if assessment is None:
            saved = save_change(
                form, lambda: services.create_assessment(current_user, fields, form.areas.data)
            )
        else:
            version = whole_number(form.version.data) or 0
            saved = save_change(
                form,
                lambda: services.update_assessment(
                    current_user, assessment, fields, form.areas.data, version
                ),
            )
            if saved is None:
                form.version.data = str(db.session.get(MarketAssessment, assessment_id).version)
        if saved is not None:
            flash("The assessment has been saved as a draft", "success")
            return redirect(url_for("market.detail", assessment_id=saved.id))
    return render_template("market/form.html", form=form, assessment=assessment)


@bp.route("/market/<int:assessment_id>/consultations/new", methods=["GET", "POST"])
@require(Permission.MANAGE_MARKET)
def add_consultation(assessment_id: int):
    assessment = _load(assessment_id)
    form = ConsultationForm()
    if form.validate_on_submit():
        saved = save_change(
            form, lambda: services.add_consultation(current_user, assessment, form.data)
        )
        if saved is not None:
            flash("The co-production evidence has been added", "success")
            return redirect(
                url_for("market.detail", assessment_id=assessment.id, _anchor="evidence")
            )
    return render_template(
        "core/form_page.html",
        form=form,
        heading="Add co-production evidence",
        caption=assessment.title,
        back_url=url_for("market.detail", assessment_id=assessment.id),
    )


@bp.post("/market/<int:assessment_id>/publish")
@require(Permission.MANAGE_MARKET)
def publish(assessment_id: int):
    assessment = _load(assessment_id)
    form = PublishForm()
    if form.validate_on_submit():
        published = save_change(
            form, lambda: services.publish(current_user, assessment, form.change_note.data)
        )
        if published is not None:
            flash(f"Version {published.number} has been published", "success")
        else:
            flash(form.form_errors[0] if form.form_errors else form.change_note.errors[0], "error")
    return redirect(url_for("market.detail", assessment_id=assessment_id))
