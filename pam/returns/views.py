"""Return pages: the list of returns, a return, its template, upload, web form and review."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from pam.audit import services as audit
from pam.auth.permissions import (
    Permission,
    can,
    can_submit_return,
    can_view_contract,
    refuse,
    require,
    scope_contracts,
)
from pam.contracts.models import Contract, ContractStatus
from pam.core.exceptions import BusinessRuleError
from pam.core.forms import show_rule_error, uploaded
from pam.core.periods import Period, today_in_uk
from pam.dashboards.ahead import work_out_after_this_request
from pam.extensions import db
from pam.files.services import download_response
from pam.returns import services
from pam.returns.forms import ReviewForm, UploadForm, WebReturnForm
from pam.returns.imports import Entries, FileRefused, read_upload, write_csv_template
from pam.returns.layout import Problem
from pam.returns.models import ReturnSource, ReturnStatus
from pam.returns.spreadsheet import write_template
from pam.returns.workflow import attempt_submission

bp = Blueprint("returns", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _load(contract_id: int, period_slug: str) -> tuple[Contract, Period]:
    """The contract (visible to the user) and one of its reporting periods, or 404."""
    contract = db.session.get(Contract, contract_id) or abort(404)
    if not can_view_contract(current_user, contract):
        refuse(current_user)
    try:
        period = Period.from_slug(period_slug)
    except ValueError:
        abort(404)
    if period not in services.reporting_periods(contract, today_in_uk()):
        abort(404)
    return contract, period


def _detail_url(contract: Contract, period: Period) -> str:
    return url_for("returns.detail", contract_id=contract.id, period_slug=period.slug)


def _require_submitter(contract: Contract) -> None:
    if not can_submit_return(current_user, contract):
        refuse(current_user)


# --- lists ------------------------------------------------------------------------------


@bp.get("/returns")
@login_required
def index():
    if not (
        can(current_user, Permission.SUBMIT_RETURNS) or can(current_user, Permission.REVIEW_RETURNS)
    ):
        refuse(current_user)
    today = today_in_uk()
    contracts = db.session.scalars(
        scope_contracts(current_user, select(Contract))
        .where(Contract.status != ContractStatus.MOBILISING)
        .order_by(Contract.reference)
    ).all()
    show = request.args.get("show", "action")
    # "All" is the last four periods of each contract; the other views miss nothing, so
    # their counts match the home page's.
    recent = 4 if show == "all" else None
    rows = [row for contract in contracts for row in services.schedule(contract, today)[:recent]]
    rows = [row for row in rows if _matches(row, show, today)]
    rows.sort(key=lambda row: (row["due_on"], row["contract"].reference), reverse=True)
    return render_template("returns/index.html", rows=rows, show=show, today=today)


def _matches(row: dict, show: str, today) -> bool:
    provider_return = row["return"]
    status = provider_return.status if provider_return and provider_return.versions else None
    if show == "all":
        return True
    if show == "review":
        return status == ReturnStatus.SUBMITTED
    if show == "overdue":
        return status is None and today > row["due_on"]
    # "action": anything not yet accepted
    return status != ReturnStatus.ACCEPTED


# --- one return -------------------------------------------------------------------------


@bp.get("/contracts/<int:contract_id>/returns/<period_slug>")
@login_required
def detail(contract_id: int, period_slug: str):
    contract, period = _load(contract_id, period_slug)
    provider_return = services.find_return(contract, period)
    layout = services.layout_for(contract, period)
    return render_template(
        "returns/detail.html",
        contract=contract,
        period=period,
        provider_return=provider_return,
        layout=layout,
        due_on=provider_return.due_on if provider_return else services.due_on(contract, period),
        can_submit=can_submit_return(current_user, contract),
        can_review=can(current_user, Permission.REVIEW_RETURNS),
        review_form=ReviewForm(),
        today=today_in_uk(),
    )


@bp.get("/contracts/<int:contract_id>/returns/<period_slug>/template.<fmt>")
@login_required
def template(contract_id: int, period_slug: str, fmt: str):
    contract, period = _load(contract_id, period_slug)
    if fmt not in ("xlsx", "csv"):
        abort(404)
    layout = services.layout_for(contract, period)
    if not layout.section("measures"):
        flash("This contract has no measures to report yet", "important")
        return redirect(_detail_url(contract, period))
    provider_return = services.find_return(contract, period)
    draft = provider_return.draft_values if provider_return else {}
    name = f"PAM return {contract.reference} {period.slug}.{fmt}"
    audit.record(
        "export",
        actor=current_user,
        record_type="contracts",
        record_id=contract.id,
        record_label=f"{contract.reference} {period.label}",
        summary=f"Downloaded the return template ({fmt})",
    )
    db.session.commit()
    if fmt == "csv":
        body, mimetype = write_csv_template(layout).encode("utf-8-sig"), "text/csv"
    else:
        body, mimetype = write_template(layout, draft), XLSX
    response = Response(body, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


def _submit(contract, period, entries: Entries, form, source, upload=None, layout=None):
    """Submit through the shared workflow; a refusal about the form itself goes on the form."""
    try:
        return attempt_submission(
            current_user,
            contract,
            period,
            entries,
            signed_off_by=form.signed_off_by.data,
            source=source,
            upload=upload,
            correction_reason=form.correction_reason.data or "",
            layout=layout,
        )
    except BusinessRuleError as error:
        show_rule_error(form, error)
        return None, []


@bp.route("/contracts/<int:contract_id>/returns/<period_slug>/upload", methods=["GET", "POST"])
@login_required
def upload(contract_id: int, period_slug: str):
    contract, period = _load(contract_id, period_slug)
    _require_submitter(contract)
    form = UploadForm()
    problems: list[Problem] = []
    if form.validate_on_submit():
        file = uploaded(form.file)
        layout = services.layout_for(contract, period)
        if file is None:
            form.file.errors = ["Select the return file to upload"]
        else:
            try:
                entries = read_upload(
                    file[0], file[1], layout, current_app.config["PAM_MAX_UPLOAD_BYTES"]
                )
            except FileRefused as refused:
                form.file.errors = [str(refused)]
            else:
                source = (
                    ReturnSource.CSV
                    if file[0].lower().endswith(".csv")
                    else ReturnSource.SPREADSHEET
                )
                version, problems = _submit(contract, period, entries, form, source, file, layout)
                if version is not None:
                    flash(f"Your return for {period.name} has been submitted", "success")
                    return redirect(_detail_url(contract, period))
    provider_return = services.find_return(contract, period)
    return render_template(
        "returns/upload.html",
        form=form,
        contract=contract,
        period=period,
        problems=problems,
        provider_return=provider_return,
    )


@bp.route("/contracts/<int:contract_id>/returns/<period_slug>/form", methods=["GET", "POST"])
@login_required
def web_form(contract_id: int, period_slug: str):
    contract, period = _load(contract_id, period_slug)
    _require_submitter(contract)
    layout = services.layout_for(contract, period)
    provider_return = services.find_return(contract, period)
    form = WebReturnForm()
    problems: list[Problem] = []
    if request.method == "POST":
        entries = Entries(
            raw={item.key: request.form.get(item.key, "") for item in layout.items},
            explanations={
                item.key: request.form.get(f"explain:{item.key}", "").strip()
                for item in layout.section("measures")
                if request.form.get(f"explain:{item.key}", "").strip()
            },
        )
        if form.save_draft.data:
            provider_return = services.return_for(current_user, contract, period)
            services.save_draft(current_user, provider_return, entries, [])
            db.session.commit()
            flash("Your draft has been saved", "success")
            return redirect(_detail_url(contract, period))
        if form.validate_on_submit():
            version, problems = _submit(contract, period, entries, form, ReturnSource.WEB)
            if version is not None:
                flash(f"Your return for {period.name} has been submitted", "success")
                return redirect(_detail_url(contract, period))
        values, explanations = entries.raw, entries.explanations
    else:
        answers = services.current_answers(provider_return)
        values, explanations, problems = answers.values, answers.explanations, answers.problems
    problem_keys = {problem.key for problem in problems}
    open_groups = {
        (item.total_key or "") + item.breakdown_label
        for item in layout.items
        if item.breakdown_label
        and (values.get(item.key) not in (None, "") or item.key in problem_keys)
    }
    return render_template(
        "returns/form.html",
        open_groups=open_groups,
        form=form,
        contract=contract,
        period=period,
        layout=layout,
        values=values,
        explanations=explanations,
        problems=problems,
        provider_return=provider_return,
    )


@bp.post("/contracts/<int:contract_id>/returns/<period_slug>/review")
@require(Permission.REVIEW_RETURNS)
def review(contract_id: int, period_slug: str):
    contract, period = _load(contract_id, period_slug)
    provider_return = services.find_return(contract, period) or abort(404)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.review_return(
                current_user, provider_return, form.decision.data, form.comment.data
            )
        except BusinessRuleError as error:
            db.session.rollback()
            show_rule_error(form, error)
        else:
            db.session.commit()
            word = "accepted" if form.decision.data == "accepted" else "queried"
            if word == "accepted":
                work_out_after_this_request(period.year)
            flash(f"The return has been {word}", "success")
            return redirect(_detail_url(contract, period))
    return render_template(
        "returns/detail.html",
        contract=contract,
        period=period,
        provider_return=provider_return,
        layout=services.layout_for(contract, period),
        due_on=provider_return.due_on,
        can_submit=False,
        can_review=True,
        review_form=form,
        today=today_in_uk(),
    ), 200


@bp.get("/contracts/<int:contract_id>/returns/<period_slug>/versions/<int:number>/file")
@login_required
def version_file(contract_id: int, period_slug: str, number: int):
    contract, period = _load(contract_id, period_slug)
    provider_return = services.find_return(contract, period) or abort(404)
    version = next((v for v in provider_return.versions if v.number == number), None)
    if version is None or version.file is None:
        abort(404)
    return download_response(
        current_user, version.file, f"{contract.reference} return {period.label} v{number}"
    )
