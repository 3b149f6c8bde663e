"""Funding decision pages: the decision log (and its CSV), drafting, submitting, deciding;
budget lines by financial year."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import SelectChoice

from pam.auth import two_factor
from pam.auth.forms import ConfirmForm
from pam.auth.permissions import (
    Permission,
    can,
    can_decide,
    must_use_two_factor,
    refuse,
    require,
)
from pam.contracts.models import Contract
from pam.core.forms import save_change, whole_number
from pam.core.periods import FinancialYear, today_in_uk
from pam.decisions import services
from pam.decisions.forms import (
    AMOUNT_ROWS,
    BudgetLineForm,
    DecideForm,
    DecisionForm,
    SubmitDecisionForm,
)
from pam.decisions.models import BudgetLine, DecisionStatus, DecisionType, FundingDecision
from pam.exports import records
from pam.exports.responses import send_sheet
from pam.extensions import db
from pam.providers.models import Area, Organisation, OrganisationKind, ServiceCategory

bp = Blueprint("decisions", __name__)


def _load(decision_id: int) -> FundingDecision:
    decision = db.session.get(FundingDecision, decision_id)
    if decision is None:
        abort(404)
    return decision


# --- the log ------------------------------------------------------------------------------


def _log_query(args):
    query = select(FundingDecision).order_by(FundingDecision.created_at.desc())
    status, kind, year = args.get("status", ""), args.get("type", ""), args.get("year", "")
    search = (args.get("q") or "").strip()[:100]
    if status in {s.value for s in DecisionStatus}:
        query = query.where(FundingDecision.status == DecisionStatus(status))
    if kind in {t.value for t in DecisionType}:
        query = query.where(FundingDecision.decision_type == DecisionType(kind))
    if year:
        query = query.where(FundingDecision.amounts.any(year=year))
    if search:
        pattern = f"%{search}%"
        query = query.where(
            or_(FundingDecision.reference.ilike(pattern), FundingDecision.title.ilike(pattern))
        )
    return query


@bp.get("/decisions")
@require(Permission.VIEW_DECISIONS)
def index():
    decisions = db.session.scalars(_log_query(request.args)).all()
    years = sorted({line.year for line in db.session.scalars(select(BudgetLine))}, reverse=True)
    return render_template(
        "decisions/index.html",
        decisions=decisions,
        statuses=list(DecisionStatus),
        types=list(DecisionType),
        years=years,
        args=request.args,
    )


@bp.get("/decisions/export.<fmt>")
@require(Permission.VIEW_DECISIONS)
def export(fmt: str):
    """The decision log, with the page's filters, as .csv or .xlsx (audited)."""
    decisions = db.session.scalars(_log_query(request.args)).all()
    return send_sheet(records.decision_log(decisions), fmt, "decision-log", "funding_decisions")


@bp.get("/decisions/<int:decision_id>")
@require(Permission.VIEW_DECISIONS)
def detail(decision_id: int):
    decision = _load(decision_id)
    positions = [services.budget_position(a.budget_line) for a in decision.amounts]
    return render_template(
        "decisions/detail.html",
        decision=decision,
        positions=positions,
        over_budget=services.over_budget(decision)
        if decision.status == DecisionStatus.SUBMITTED
        else [],
        can_edit=can(current_user, Permission.DRAFT_DECISIONS)
        and decision.status in (DecisionStatus.DRAFT, DecisionStatus.DEFERRED),
        can_decide=decision.status == DecisionStatus.SUBMITTED
        and can_decide(current_user, decision),
        decide_form=DecideForm(),
        submit_form=SubmitDecisionForm(),
    )


# --- drafting -----------------------------------------------------------------------------


def _prepare(form: DecisionForm) -> None:
    providers = db.session.scalars(
        select(Organisation)
        .where(Organisation.kind != OrganisationKind.OPCC, Organisation.is_active.is_(True))
        .order_by(Organisation.name)
    )
    form.provider_id.choices = [SelectChoice("", "None")] + [
        SelectChoice(p.id, p.name) for p in providers
    ]
    contracts = db.session.scalars(select(Contract).order_by(Contract.reference))
    form.contract_id.choices = [SelectChoice("", "None")] + [
        SelectChoice(c.id, f"{c.reference} {c.title}") for c in contracts
    ]
    services_ = db.session.scalars(
        select(ServiceCategory)
        .where(ServiceCategory.is_active.is_(True))
        .order_by(ServiceCategory.name)
    )
    form.service_category_id.choices = [SelectChoice("", "None")] + [
        SelectChoice(s.id, s.name) for s in services_
    ]
    form.area_ids.choices = [
        SelectChoice(a.id, a.name)
        for a in db.session.scalars(
            select(Area).where(Area.is_active.is_(True)).order_by(Area.name)
        )
    ]
    open_lines = [
        line
        for line in db.session.scalars(
            select(BudgetLine).order_by(BudgetLine.year.desc(), BudgetLine.code)
        )
        if not services.is_closed(line.year)
    ]
    line_choices = [SelectChoice("", "Choose a budget line")] + [
        SelectChoice(line.id, f"{line.year} {line.code}: {line.name}") for line in open_lines
    ]
    for index in range(1, AMOUNT_ROWS + 1):
        form[f"line_{index}"].choices = line_choices


def _fields(form: DecisionForm) -> dict:
    def iso(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        **{
            k: form[k].data
            for k in (
                "title",
                "decision_type",
                "summary",
                "rationale",
                "options_considered",
                "risks",
                "conflicts_declared",
                "is_public_interest",
                "provider_id",
                "contract_id",
            )
        },
        "terms": {
            "contract_reference": (form.contract_reference.data or "").strip().upper(),
            "service_category_id": form.service_category_id.data,
            "area_ids": form.area_ids.data or [],
            "start_on": iso(form.start_on.data),
            "end_on": iso(form.end_on.data),
            "annual_value": str(form.annual_value.data)
            if form.annual_value.data is not None
            else None,
            "max_extension_months": (form.max_extension_months.data or "").strip(),
            "new_end_on": iso(form.new_end_on.data),
        },
    }


def _amount_rows(form: DecisionForm) -> list[tuple]:
    return [(form[f"line_{i}"].data, form[f"amount_{i}"].data) for i in range(1, AMOUNT_ROWS + 1)]


def _fill_from(form: DecisionForm, decision: FundingDecision) -> None:
    terms = decision.terms or {}
    form.decision_type.data = decision.decision_type.value
    form.version.data = str(decision.version)
    form.contract_reference.data = terms.get("contract_reference")
    form.service_category_id.data = terms.get("service_category_id")
    form.area_ids.data = terms.get("area_ids", [])
    for name in ("start_on", "end_on", "new_end_on"):
        form[name].data = date.fromisoformat(terms[name]) if terms.get(name) else None
    form.annual_value.data = terms.get("annual_value")
    form.max_extension_months.data = terms.get("max_extension_months")
    for index, amount in enumerate(decision.amounts[:AMOUNT_ROWS], start=1):
        form[f"line_{index}"].data = amount.budget_line_id
        form[f"amount_{index}"].data = amount.amount


@bp.route("/decisions/new", methods=["GET", "POST"])
@bp.route("/decisions/<int:decision_id>/edit", methods=["GET", "POST"])
@require(Permission.DRAFT_DECISIONS)
def form(decision_id: int | None = None):
    decision = _load(decision_id) if decision_id else None
    form = DecisionForm(obj=decision)
    _prepare(form)
    if decision is not None and request.method == "GET":
        _fill_from(form, decision)
    if form.validate_on_submit():
        fields, rows = _fields(form), _amount_rows(form)
        if decision is None:
            saved = save_change(
                form, lambda: services.create_decision(current_user, fields, rows, today_in_uk())
            )
        else:
            version = whole_number(form.version.data) or 0  # a form without one is stale
            saved = save_change(
                form,
                lambda: services.update_decision(current_user, decision, fields, rows, version),
            )
            if saved is None:
                form.version.data = str(db.session.get(FundingDecision, decision_id).version)
        if saved is not None:
            flash(f"Decision {saved.reference} has been saved as a draft", "success")
            return redirect(url_for("decisions.detail", decision_id=saved.id))
    return render_template(
        "decisions/form.html", form=form, decision=decision, rows=range(1, AMOUNT_ROWS + 1)
    )


@bp.post("/decisions/<int:decision_id>/submit")
@require(Permission.DRAFT_DECISIONS)
def submit(decision_id: int):
    decision = _load(decision_id)
    form = SubmitDecisionForm()
    if form.validate_on_submit():
        if save_change(
            form,
            lambda: services.submit_decision(current_user, decision, form.comment.data) or True,
        ):
            flash(f"{decision.reference} has been submitted for decision", "success")
        else:
            flash(form.form_errors[0] if form.form_errors else "It could not be submitted", "error")
    return redirect(url_for("decisions.detail", decision_id=decision_id))


@bp.route("/decisions/<int:decision_id>/decide", methods=["GET", "POST"])
@require(Permission.DECIDE_FUNDING)
def decide(decision_id: int):
    decision = _load(decision_id)
    if not can_decide(current_user, decision):
        refuse(current_user)
    form = DecideForm()
    user = current_user._get_current_object()
    if must_use_two_factor(user) and not two_factor.is_enabled(user):
        flash("Set up two-factor sign-in before recording a decision", "info")
        return redirect(url_for("two_factor.set_up"))
    if not two_factor.is_enabled(user):
        del form.second_factor_code
    if form.validate_on_submit() and _second_factor_confirmed(form, user):
        saved = save_change(
            form,
            lambda: services.decide(
                current_user,
                decision,
                form.outcome.data,
                form.comment.data,
                today_in_uk(),
                form.override_reason.data,
            ),
        )
        if saved is not None:
            flash(f"{decision.reference} has been {decision.status.value}", "success")
            return redirect(url_for("decisions.detail", decision_id=decision.id))
    return render_template(
        "core/form_page.html",
        form=form,
        heading=f"Decide {decision.reference}",
        caption=decision.title,
        intro=f"£{decision.total:,.2f} over {', '.join(decision.years)}. "
        + (
            " ".join(services.over_budget(decision))
            if decision.status == DecisionStatus.SUBMITTED
            else ""
        ),
        back_url=url_for("decisions.detail", decision_id=decision.id),
        field_params={
            "second_factor_code": {
                "autocomplete": "one-time-code",
                "classes": "govuk-input--width-10",
            }
        },
    )


def _second_factor_confirmed(form: DecideForm, user) -> bool:
    if "second_factor_code" not in form:
        return True
    _how, problem = two_factor.check(
        user, form.second_factor_code.data, request.remote_addr, signed_in=True
    )
    if problem:
        db.session.commit()  # a wrong code counts towards the lockout; a used one stays used
        form.second_factor_code.errors.append(problem)
        return False
    return True


# --- budgets --------------------------------------------------------------------------------


@bp.get("/budgets")
@require(Permission.VIEW_DECISIONS)
def budgets():
    lines = db.session.scalars(
        select(BudgetLine).order_by(BudgetLine.year.desc(), BudgetLine.code)
    ).all()
    by_year: dict[str, list] = {}
    for line in lines:
        by_year.setdefault(line.year, []).append(services.budget_position(line))
    return render_template(
        "decisions/budgets.html",
        by_year=by_year,
        closed={year for year in by_year if services.is_closed(year)},
        confirm_form=ConfirmForm(),
    )


def _year_choices() -> list[SelectChoice]:
    current = FinancialYear.containing(today_in_uk())
    years = [current.previous(), current, current.next()]
    return [SelectChoice(y.label, y.label) for y in years]


@bp.route("/budgets/new", methods=["GET", "POST"])
@bp.route("/budgets/<int:line_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_BUDGETS)
def budget_line(line_id: int | None = None):
    line = (db.session.get(BudgetLine, line_id) or abort(404)) if line_id else None
    form = BudgetLineForm(obj=line)
    form.year.choices = _year_choices()
    if line is not None and line.year not in [c.value for c in form.year.choices]:
        form.year.choices.append(SelectChoice(line.year, line.year))
    if form.validate_on_submit():
        saved = save_change(form, lambda: services.save_budget_line(current_user, line, form.data))
        if saved is not None:
            flash(f"Budget line {saved.code} ({saved.year}) has been saved", "success")
            return redirect(url_for("decisions.budgets"))
    return render_template(
        "core/form_page.html",
        form=form,
        heading="Change a budget line" if line else "Add a budget line",
        back_url=url_for("decisions.budgets"),
        field_params={"allocation": {"classes": "govuk-input--width-10", "prefix": {"text": "£"}}},
    )


@bp.post("/budgets/years/<year_slug>/close")
@require(Permission.CLOSE_YEARS)
def close_year(year_slug: str):
    try:
        year = FinancialYear.parse(year_slug.replace("-", "/")).label
    except ValueError:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        closed = save_change(form, lambda: services.close_year(current_user, year))
        if closed is not None:
            flash(f"{closed.year} is closed: no new commitments can be made against it", "success")
        else:
            flash(form.form_errors[0] if form.form_errors else "It could not be closed", "error")
    return redirect(url_for("decisions.budgets"))
