"""The board dashboards: portfolio, performance, outcomes for victims, and delivery.

Filters travel in the URL. OPCC staff see every figure; board members (and staff who ask
to see the page as the board does, with view=board) see outcomes with small numbers
suppressed.

Each page's charts are kept by the server process that built them, under the revision
stamps of everything they are read from (pam.returns.revisions.page_stamps): a warm view
reads one row of stamps, not the year's figures, and draws no chart again. The delivery
page reads the plan, which no stamp watches, and is built every time.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from pam.auth.permissions import Permission, can, require
from pam.core.periods import today_in_uk
from pam.dashboards import delivery, outcomes, performance, portfolio
from pam.dashboards.filters import Filters, filter_options, year_choices
from pam.dashboards.memo import Remembered, under_revisions
from pam.dashboards.suppression import SUPPRESSED_NOTE
from pam.returns import revisions

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")

TABS = [
    ("Portfolio", "dashboards.portfolio_page"),
    ("Performance", "dashboards.performance_page"),
    ("Outcomes for victims", "dashboards.outcomes_page"),
    ("Delivery plan and decisions", "dashboards.delivery_page"),
]


# Pages as this process last built them (and the filters' choices), under the stamps.
_PAGES = Remembered(128)


def suppression_threshold() -> int:
    """0 (show everything) for OPCC staff; the configured threshold for everyone else,
    and for staff previewing the board's view."""
    as_board = request.args.get("view") == "board"
    if can(current_user, Permission.SEE_UNSUPPRESSED_FIGURES) and not as_board:
        return 0
    return current_app.config["PAM_SUPPRESSION_THRESHOLD"]


def _page(title: str, charts: list, filters: Filters, problems: list[str], **extra):
    threshold = extra.pop("threshold", None)
    options = under_revisions(_PAGES, (revisions.board_inputs_revision(),), ("filter options",),
                              filter_options)  # fmt: skip
    return render_template(
        "dashboards/dashboard.html",
        title=title,
        tabs=TABS,
        charts=charts,
        filters=filters,
        problems=problems,
        options=options,
        years=year_choices(today_in_uk()),
        threshold=threshold,
        suppressed_note=SUPPRESSED_NOTE.format(
            threshold=threshold or current_app.config["PAM_SUPPRESSION_THRESHOLD"]
        ),
        can_see_unsuppressed=can(current_user, Permission.SEE_UNSUPPRESSED_FIGURES),
        **extra,
    )


def _filters() -> tuple[Filters, list[str]]:
    return Filters.from_args(request.args, today_in_uk())


def _kept(page: str, filters: Filters, key: tuple, build):
    """build(), or what this process last built for the same page, filters and `key` while
    nothing it reads has changed since."""
    stamps = revisions.page_stamps(filters.year.label)
    return under_revisions(_PAGES, stamps, (page, filters, *key), build)


@bp.get("/")
@require(Permission.VIEW_DASHBOARDS)
def portfolio_page():
    filters, problems = _filters()
    today = today_in_uk()
    charts = _kept("portfolio", filters, (today,), lambda: portfolio.build(filters, today))
    return _page("Portfolio", charts, filters, problems)


@bp.get("/performance")
@require(Permission.VIEW_DASHBOARDS)
def performance_page():
    filters, problems = _filters()
    today, threshold = today_in_uk(), suppression_threshold()

    def build() -> tuple[list, list]:
        choices = performance.measure_choices(filters)
        return choices, performance.build(filters, today, choices, threshold)

    choices, charts = _kept("performance", filters, (today, threshold), build)
    if filters.measure and filters.measure not in dict(choices):
        problems.append(f"No accepted figures for '{filters.measure}' in {filters.year.label}")
    filters = replace(filters, measure=performance.chosen_measure(filters, choices))
    return _page("Performance", charts, filters, problems, measures=choices, threshold=threshold)


@bp.get("/outcomes")
@require(Permission.VIEW_DASHBOARDS)
def outcomes_page():
    filters, problems = _filters()
    threshold = suppression_threshold()
    charts = _kept("outcomes", filters, (threshold,), lambda: outcomes.build(filters, threshold))
    return _page("Outcomes for victims", charts, filters, problems, threshold=threshold)


@bp.get("/delivery")
@require(Permission.VIEW_DASHBOARDS)
def delivery_page():
    filters, problems = _filters()
    charts = delivery.build(filters, today_in_uk())
    return _page(
        "Delivery plan and decisions", charts, filters, problems, contract_filters=False,
        quarter_filter=False,
    )  # fmt: skip
