"""Evaluation reports: the list, writing one, the printable page and its .xlsx."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from pam.auth.permissions import Permission, require
from pam.contracts.models import Contract
from pam.core.forms import save_change, whole_number
from pam.evaluations import content, services
from pam.evaluations.forms import EvaluationForm
from pam.evaluations.models import EvaluationReport
from pam.exports.board_pack import chart_sheet
from pam.exports.responses import send_file_bytes
from pam.exports.tabular import Sheet, to_xlsx
from pam.extensions import db
from pam.programmes.models import Pilot

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")


def _load(report_id: int) -> EvaluationReport:
    report = db.session.get(EvaluationReport, report_id)
    if report is None:
        abort(404)
    return report


def _subjects(form: EvaluationForm) -> None:
    contracts = db.session.execute(
        select(Contract.id, Contract.reference, Contract.title).order_by(Contract.reference)
    ).all()
    pilots = db.session.execute(select(Pilot.id, Pilot.name).order_by(Pilot.name)).all()
    form.subject.choices = [
        SelectChoice("", "Choose a contract or pilot"),
        *[SelectChoice(f"pilot:{i}", f"Pilot: {name}") for i, name in pilots],
        *[SelectChoice(f"contract:{i}", f"Contract: {ref} {title}") for i, ref, title in contracts],
    ]


@bp.get("/")
@require(Permission.VIEW_DASHBOARDS)
def index():
    reports = db.session.scalars(
        select(EvaluationReport).order_by(EvaluationReport.period_end.desc())
    ).all()
    return render_template("evaluations/index.html", reports=reports)


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def new():
    form = EvaluationForm()
    _subjects(form)
    if form.validate_on_submit():
        report = save_change(form, lambda: services.create_report(current_user, form.fields()))
        if report is not None:
            flash("The evaluation report has been saved", "success")
            return redirect(url_for("evaluations.detail", report_id=report.id))
    return render_template(
        "core/form_page.html", form=form, heading="Write an evaluation report",
        back_url=url_for("evaluations.index"),
        intro="Choose what to evaluate and the period: PAM works out the figures from the "
        "accepted returns (or the pilot's cases). Add your summary and recommendations.",
    )  # fmt: skip


@bp.route("/<int:report_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_CONTRACTS)
def edit(report_id: int):
    report = _load(report_id)
    form = EvaluationForm(obj=report)
    _subjects(form)
    if not form.is_submitted():
        form.subject.data = (
            f"contract:{report.contract_id}" if report.contract_id else f"pilot:{report.pilot_id}"
        )
        form.stage.data = report.stage.value
        form.version.data = str(report.version)
    if form.validate_on_submit():
        version = whole_number(form.version.data) or 0  # a form without one is stale
        saved = save_change(
            form, lambda: services.update_report(current_user, report, form.fields(), version)
        )
        if saved is not None:
            flash("The evaluation report has been saved", "success")
            return redirect(url_for("evaluations.detail", report_id=report.id))
        form.version.data = str(db.session.get(EvaluationReport, report_id).version)
    return render_template(
        "core/form_page.html", form=form, heading=f"Edit {report.title}",
        back_url=url_for("evaluations.detail", report_id=report.id),
    )  # fmt: skip


def _content(report: EvaluationReport) -> content.ReportContent:
    return content.build(report, current_app.config["PAM_SUPPRESSION_THRESHOLD"])


@bp.get("/<int:report_id>")
@require(Permission.VIEW_DASHBOARDS)
def detail(report_id: int):
    report = _load(report_id)
    return render_template(
        "evaluations/detail.html", report=report, content=_content(report),
        threshold=current_app.config["PAM_SUPPRESSION_THRESHOLD"],
    )  # fmt: skip


@bp.get("/<int:report_id>/report.xlsx")
@require(Permission.VIEW_DASHBOARDS)
def download(report_id: int):
    report = _load(report_id)
    built = _content(report)
    about = Sheet(
        "Report",
        ["", ""],
        [["Title", report.title], ["Evaluates", report.subject_name],
         ["Stage", report.stage.label], ["Period from", report.period_start],
         ["Period to", report.period_end], ["Summary", report.summary],
         ["Recommendations", report.recommendations]],
        ["", ""],
    )  # fmt: skip
    sheets = [about, *[chart_sheet(chart) for chart in built.charts]]
    if built.highlights:
        sheets.append(Sheet("Highlights", ["Period", "Kind", "Text"],
                            [list(h) for h in built.highlights]))  # fmt: skip
    return send_file_bytes(
        to_xlsx(sheets, report.title), "xlsx", f"evaluation-report-{report.id}.xlsx",
        "evaluation_reports", f"Downloaded the evaluation report '{report.title}'",
    )  # fmt: skip
