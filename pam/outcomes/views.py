"""The metric dictionary (everyone reads it; officers change it) and contracts' frameworks."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from wtforms import SelectChoice

from pam.auth.forms import ConfirmForm
from pam.auth.permissions import Permission, can_view_contract, refuse, require
from pam.contracts.models import Contract
from pam.core.forms import save_change, whole_number
from pam.core.periods import Period, today_in_uk
from pam.extensions import db
from pam.outcomes import services
from pam.outcomes.forms import FrameworkSettingsForm, MeasureForm, MetricForm, TargetForm
from pam.outcomes.models import BREAKDOWNS, FrameworkMeasure, Metric, MetricVersion
from pam.outcomes.schedule import all_periods

bp = Blueprint("outcomes", __name__)


# --- the dictionary ----------------------------------------------------------------------


@bp.get("/measures")
@login_required
def metrics():
    search = (request.args.get("q") or "").strip()[:100]
    query = select(Metric).order_by(Metric.code)
    if search:
        pattern = f"%{search}%"
        query = query.where(
            or_(
                Metric.code.ilike(pattern),
                Metric.versions.any(MetricVersion.name.ilike(pattern)),
            )
        )
    return render_template(
        "outcomes/metrics.html", metrics=db.session.scalars(query).all(), search=search
    )


@bp.get("/measures/<int:metric_id>")
@login_required
def metric_detail(metric_id: int):
    metric = db.session.get(Metric, metric_id) or abort(404)
    return render_template(
        "outcomes/metric_detail.html",
        metric=metric,
        breakdown_names=lambda codes: ", ".join(BREAKDOWNS[code][0] for code in codes),
    )


@bp.route("/measures/new", methods=["GET", "POST"])
@bp.route("/measures/<int:metric_id>/revise", methods=["GET", "POST"])
@require(Permission.MANAGE_DICTIONARY)
def metric_form(metric_id: int | None = None):
    metric = (db.session.get(Metric, metric_id) or abort(404)) if metric_id else None
    form = MetricForm(obj=metric.current if metric else None)
    if metric is not None:
        del form.code
        if request.method == "GET":
            form.funder_mappings.data = "\n".join(metric.current.funder_mappings)
            form.unit.data = metric.current.unit.value
            form.direction.data = metric.current.direction.value
            form.aggregation.data = metric.current.aggregation.value
            form.valid_from.data = None
            form.change_note.data = ""
    if form.validate_on_submit():
        fields = form.fields_for_service()
        if metric is None:
            saved = save_change(
                form, lambda: services.create_metric(current_user, fields["code"], fields)
            )
        else:
            saved = save_change(form, lambda: services.revise_metric(current_user, metric, fields))
        if saved is not None:
            flash("The measure has been saved in the dictionary", "success")
            target = saved if isinstance(saved, Metric) else saved.metric
            return redirect(url_for("outcomes.metric_detail", metric_id=target.id))
    heading = f"New version of {metric.code}" if metric else "Add a measure to the dictionary"
    return render_template(
        "core/form_page.html",
        form=form,
        heading=heading,
        intro=(
            "The current version stays as it is: returns already made keep the definition "
            "they were counted under."
            if metric
            else None
        ),
        back_url=url_for("outcomes.metric_detail", metric_id=metric.id)
        if metric
        else url_for("outcomes.metrics"),
        field_params={"code": {"classes": "govuk-input--width-10"}},
    )


# --- a contract's framework ----------------------------------------------------------------


def _contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id) or abort(404)
    if not can_view_contract(current_user, contract):
        refuse(current_user)
    return contract


def period_choices(contract: Contract) -> list[SelectChoice]:
    """The contract's reporting periods over its term, for the date a target starts."""
    return [SelectChoice(period.label, period.name) for period in all_periods(contract)]


def _default_period(choices: list[SelectChoice]) -> str | None:
    """The period running today, else the first."""
    today = today_in_uk()
    for choice in choices:
        period = Period.parse(choice.value)
        if period.starts_on <= today <= period.ends_on:
            return choice.value
    return choices[0].value if choices else None


def _back(contract: Contract) -> str:
    return url_for("contracts.detail", contract_id=contract.id, _anchor="framework")


@bp.route("/contracts/<int:contract_id>/framework", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def framework_settings(contract_id: int):
    contract = _contract(contract_id)
    framework = services.framework_for(current_user, contract)
    db.session.commit()  # a new framework is saved (and audited) on first sight
    form = FrameworkSettingsForm(obj=framework)
    if request.method == "GET":
        form.frequency.data = framework.frequency.value
        form.version.data = str(framework.version)
        form.due_days.data = str(framework.due_days)
        form.milestones.data = "\n".join(
            f"{d.day}/{d.month}/{d.year}" for d in framework.milestone_dates
        )
    if form.validate_on_submit():
        version = whole_number(form.version.data) or 0  # a form without one is stale
        fields = {name: field.data for name, field in form._fields.items()}
        fields["milestones"] = getattr(form.milestones, "dates", [])
        saved = save_change(
            form, lambda: services.update_framework(current_user, framework, fields, version)
        )
        if saved is not None:
            flash("The reporting arrangements have been saved", "success")
            return redirect(_back(contract))
    return render_template(
        "core/form_page.html",
        form=form,
        heading="Reporting arrangements",
        caption=f"{contract.reference} {contract.title}",
        back_url=_back(contract),
        field_params={
            "due_days": {"classes": "govuk-input--width-3"},
            "rag_tolerance_percent": {"classes": "govuk-input--width-4", "suffix": {"text": "%"}},
        },
    )


@bp.route("/contracts/<int:contract_id>/framework/measures/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def new_measure(contract_id: int):
    contract = _contract(contract_id)
    framework = services.framework_for(current_user, contract)
    form = MeasureForm()
    in_use = {m.metric_id for m in framework.active_measures}
    metrics = db.session.scalars(
        select(Metric).where(Metric.is_active.is_(True)).order_by(Metric.code)
    ).all()
    form.metric_id.choices = [
        SelectChoice(m.id, f"{m.code} {m.current.name} ({m.current.unit.label.lower()})")
        for m in metrics
        if m.id not in in_use
    ]
    form.starting.choices = period_choices(contract)
    if request.method == "GET":
        form.starting.data = _default_period(form.starting.choices)
    if form.validate_on_submit():
        metric = db.session.get(Metric, form.metric_id.data)
        measure = save_change(
            form,
            lambda: services.add_measure(
                current_user,
                framework,
                metric,
                form.period_target.data,
                Period.parse(form.starting.data),
            ),
        )
        if measure is not None:
            flash(f"{metric.code} has been added to the framework", "success")
            return redirect(_back(contract))
    db.session.rollback()  # nothing is saved by just looking at the form
    return render_template(
        "core/form_page.html",
        form=form,
        heading="Add a measure",
        caption=f"{contract.reference} {contract.title}",
        intro="Measures come from the shared dictionary, so every provider counts them alike.",
        back_url=_back(contract),
        field_params={"period_target": {"classes": "govuk-input--width-5"}},
    )


def _measure(contract: Contract, measure_id: int) -> FrameworkMeasure:
    measure = db.session.get(FrameworkMeasure, measure_id)
    if measure is None or measure.framework.contract_id != contract.id:
        abort(404)
    return measure


@bp.route(
    "/contracts/<int:contract_id>/framework/measures/<int:measure_id>/target",
    methods=["GET", "POST"],
)
@require(Permission.MANAGE_CONTRACTS)
def change_target(contract_id: int, measure_id: int):
    contract = _contract(contract_id)
    measure = _measure(contract, measure_id)
    form = TargetForm()
    form.starting.choices = period_choices(contract)
    if request.method == "GET":
        form.starting.data = _default_period(form.starting.choices)
    if form.validate_on_submit():
        target = save_change(
            form,
            lambda: services.set_target(
                current_user,
                measure,
                Period.parse(form.starting.data),
                form.period_target.data,
                reason=form.reason.data,
            ),
        )
        if target is not None:
            flash(f"The {measure.metric.code} target has been changed", "success")
            return redirect(_back(contract))
    return render_template(
        "core/form_page.html",
        form=form,
        heading=f"Change the target for {measure.metric.code} {measure.metric.current.name}",
        caption=f"{contract.reference} {contract.title}",
        intro="Periods before the one you choose keep the target they had.",
        back_url=_back(contract),
        field_params={"period_target": {"classes": "govuk-input--width-5"}},
    )


@bp.post("/contracts/<int:contract_id>/framework/measures/<int:measure_id>/remove")
@require(Permission.MANAGE_CONTRACTS)
def remove_measure(contract_id: int, measure_id: int):
    contract = _contract(contract_id)
    measure = _measure(contract, measure_id)
    form = ConfirmForm()
    if form.validate_on_submit() and save_change(
        form, lambda: services.remove_measure(current_user, measure) or True
    ):
        flash(f"{measure.metric.code} is no longer asked for; its history is kept", "success")
    return redirect(_back(contract))
