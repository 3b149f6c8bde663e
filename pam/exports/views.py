"""Board packs and exports: the quarterly board pack, a funder's return, and the returns
data. (The contract register, decision log and audit trail download from their own
pages, with those pages' filters.)"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pam.auth.permissions import Permission, can, require
from pam.core.periods import Period, today_in_uk
from pam.core.template_helpers import format_datetime, uk_time
from pam.dashboards.filters import supported_year, year_choices
from pam.exports import board_pack, funder_return, records
from pam.exports.responses import send_file_bytes, send_long_export
from pam.exports.tabular import to_xlsx

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _quarters() -> list[Period]:
    """The quarters a pack can be made for: this year's and the four before, newest first."""
    quarters = []
    for year in year_choices(today_in_uk()):
        quarters += reversed(year.quarters())
    current = Period.quarter_containing(today_in_uk())
    return [q for q in quarters if q.starts_on <= current.starts_on]


@bp.get("/")
@require(Permission.VIEW_DASHBOARDS)
def index():
    return render_template(
        "exports/index.html",
        quarters=_quarters(),
        years=year_choices(today_in_uk()),
        funders=funder_return.funders() if can(current_user, Permission.EXPORT_RECORDS) else [],
    )


@bp.get("/board-pack")
@require(Permission.VIEW_DASHBOARDS)
def board_pack_download():
    try:
        period = board_pack.parse_period(request.args.get("period", ""))
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for("exports.index"))
    body, as_at = board_pack.newest(period, today_in_uk())
    if as_at is None:
        name, summary = f"board-pack-{period.slug}", f"Downloaded the board pack for {period.label}"
    else:  # the pack as it was before a change: its name and the audit trail say when
        moment = uk_time(as_at)
        name = f"board-pack-{period.slug}-as-at-{moment:%Y-%m-%d-%H%M}"
        summary = (f"Downloaded the board pack for {period.label} as at "
                   f"{format_datetime(as_at)} (being updated)")  # fmt: skip
    return send_file_bytes(body, "xlsx", f"{name}.xlsx", "board_pack", summary)


@bp.get("/funder-return")
@require(Permission.EXPORT_RECORDS)
def funder_return_download():
    funder = request.args.get("funder", "")
    if funder not in funder_return.funders():
        flash("Choose a funder from the list", "error")
        return redirect(url_for("exports.index"))
    try:
        year = supported_year(request.args.get("year", ""))
    except ValueError:
        flash("Choose a financial year from the list", "error")
        return redirect(url_for("exports.index"))
    quarter = request.args.get("quarter", "")
    if quarter not in ("", "1", "2", "3", "4"):
        flash("Choose a quarter from the list, or the whole year", "error")
        return redirect(url_for("exports.index"))
    sheets, count = funder_return.build(funder, year, int(quarter) if quarter else None)
    name = f"funder-return-{year.label.replace('/', '-')}{'-Q' + quarter if quarter else ''}"
    body = to_xlsx(sheets, funder, header_prefix=f"{funder}: ")
    return send_file_bytes(
        body, "xlsx", f"{name}.xlsx", "funder_return",
        f"Downloaded the {funder} for {year.label}{' Q' + quarter if quarter else ''} "
        f"({count} returns)",
    )  # fmt: skip


@bp.get("/returns-data.<fmt>")
@require(Permission.EXPORT_RECORDS)
def returns_data(fmt: str):
    year = request.args.get("year", "")
    try:
        year = supported_year(year).label if year else None
    except ValueError:
        flash("Choose a financial year from the list", "error")
        return redirect(url_for("exports.index"))
    return send_long_export(
        "returns-data", year, fmt, lambda: records.returns_data(year), "return_facts",
        records.RETURNS_DATA, back=url_for("exports.index"),
    )  # fmt: skip
