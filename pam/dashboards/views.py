"""The board dashboards: portfolio, performance, outcomes for victims, and delivery.

Filters travel in the URL. OPCC staff see every figure; board members (and staff who ask
to see the page as the board does, with view=board) see outcomes with small numbers
suppressed.

The portfolio, performance and outcomes pages are built once and kept (pam.dashboards.
pages); the delivery page reads the plan, which no stamp watches, and is built every time.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from pam.auth.permissions import Permission, can, require
from pam.core.periods import today_in_uk
from pam.dashboards import delivery, pages, performance
from pam.dashboards.filters import Filters, year_choices
from pam.dashboards.suppression import SUPPRESSED_NOTE

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")

TABS = [
    ("Portfolio", "dashboards.portfolio_page"),
    ("Performance", "dashboards.performance_page"),
    ("Outcomes for victims", "dashboards.outcomes_page"),
    ("Delivery plan and decisions", "dashboards.delivery_page"),
]


def suppression_threshold() -> int:
    """0 (show everything) for OPCC staff; the configured threshold for everyone else,
    and for staff previewing the board's view."""
    as_board = request.args.get("view") == "board"
    if can(current_user, Permission.SEE_UNSUPPRESSED_FIGURES) and not as_board:
        return 0
    return current_app.config["PAM_SUPPRESSION_THRESHOLD"]


def _page(title: str, charts: list, filters: Filters, problems: list[str],
          shown: pages.Shown | None = None, **extra):  # fmt: skip
    threshold = extra.pop("threshold", None)
    return render_template(
        "dashboards/dashboard.html",
        title=title,
        tabs=TABS,
        charts=charts,
        as_at=shown.as_at if shown else None,
        withheld=shown.withheld if shown else False,
        filters=filters,
        problems=problems,
        options=pages.filter_choices(),
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


@bp.get("/")
@require(Permission.VIEW_DASHBOARDS)
def portfolio_page():
    filters, problems = _filters()
    shown = pages.portfolio_page(filters, today_in_uk())
    return _page("Portfolio", shown.value, filters, problems, shown)


@bp.get("/performance")
@require(Permission.VIEW_DASHBOARDS)
def performance_page():
    filters, problems = _filters()
    threshold = suppression_threshold()
    shown = pages.performance_page(filters, today_in_uk(), threshold)
    choices, charts = shown.value
    if filters.measure and filters.measure not in dict(choices):
        problems.append(f"No accepted figures for '{filters.measure}' in {filters.year.label}")
    filters = replace(filters, measure=performance.chosen_measure(filters, choices))
    return _page("Performance", charts, filters, problems, shown, measures=choices,
                 threshold=threshold)  # fmt: skip


@bp.get("/outcomes")
@require(Permission.VIEW_DASHBOARDS)
def outcomes_page():
    filters, problems = _filters()
    threshold = suppression_threshold()
    shown = pages.outcomes_page(filters, threshold)
    return _page("Outcomes for victims", shown.value, filters, problems, shown,
                 threshold=threshold)  # fmt: skip


@bp.get("/delivery")
@require(Permission.VIEW_DASHBOARDS)
def delivery_page():
    filters, problems = _filters()
    charts = delivery.build(filters, today_in_uk())
    return _page(
        "Delivery plan and decisions", charts, filters, problems, contract_filters=False,
        quarter_filter=False,
    )  # fmt: skip
