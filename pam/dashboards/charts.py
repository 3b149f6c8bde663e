"""A dashboard chart: its title, a one-line summary, a Plotly figure and the same figures
as a data table, so a screen-reader user (or anyone who prefers numbers) gets everything
the picture shows. Board packs and evaluation reports write the same tables to Excel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from flask import current_app

from pam.dashboards.figures import GOVUK_COLOURS


class Suppressed:
    """A figure withheld by small-number suppression; shown as [c]."""

    def __str__(self) -> str:
        return "[c]"

    def __repr__(self) -> str:
        return "SUPPRESSED"


SUPPRESSED = Suppressed()
RAG_COLOURS = {"Green": "#00703c", "Amber": "#f47738", "Red": "#d4351c", "Not rated": "#b1b4b6"}


@dataclass
class DataTable:
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    # How each column's numbers are written: "count", "money", "percent" or "" (text).
    formats: list[str] = field(default_factory=list)

    @property
    def has_suppressed(self) -> bool:
        return any(cell is SUPPRESSED for row in self.rows for cell in row)


@dataclass
class Chart:
    id: str
    title: str
    summary: str
    table: DataTable
    figure: str | None = None  # Plotly JSON; None when the table says it all
    note: str = ""
    # A link to where the rest is (a table cut short): (endpoint, its arguments, words).
    more: tuple[str, dict[str, Any], str] | None = None


DRAWN = "_pam_drawn"  # a chart's HTML, kept on the chart object (not a field: never kept)


def drawn_chart(chart: Chart) -> str:
    """The chart as the dashboards draw it (templates/dashboards/_charts.html), drawn once
    per chart object. A kept page's charts are the same objects on every warm view in a
    process (pam.dashboards.pages), and drawing their data tables, hundreds of cells, was
    most of a warm view's time (15 of 21 ms for the performance page at 20%). Nothing in
    a chart's HTML depends on who asks: what they may see is part of the page's key."""
    html = chart.__dict__.get(DRAWN)
    if html is None:
        macros = current_app.jinja_env.get_template("dashboards/_charts.html").module
        html = chart.__dict__[DRAWN] = macros.chart(chart)  # a macro gives Markup
    return html


def cell_text(value: Any, fmt: str = "") -> str:
    """A table cell as text: [c] when suppressed, a dash when there is no figure."""
    if value is SUPPRESSED:
        return "[c]"
    if value is None:
        return "\u2013"  # an en dash, as GOV.UK tables show no figure
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    if fmt == "money":
        return f"£{Decimal(value):,.0f}"
    if fmt == "percent":
        return f"{value}%"
    if isinstance(value, (int, Decimal)) and fmt in ("count", "number"):
        return f"{value:,}"
    return str(value)


def plot_value(cell: Any) -> float | None:
    """What a chart draws for a cell: nothing for a suppressed or missing figure."""
    if cell is None or cell is SUPPRESSED:
        return None
    return float(cell)


def bar_figure(
    categories: list[str],
    series: dict[str, list[Any]],
    *,
    y_title: str,
    stacked: bool = False,
    horizontal: bool = False,
    colours: dict[str, str] | None = None,
) -> str:
    """Grouped (or stacked) bars, one series each, in GOV.UK colours."""
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        colour = (colours or {}).get(name, GOVUK_COLOURS[index % len(GOVUK_COLOURS)])
        drawn = [plot_value(value) for value in values]
        if horizontal:
            trace = go.Bar(y=categories, x=drawn, name=name, orientation="h",
                           marker_color=colour)  # fmt: skip
        else:
            trace = go.Bar(x=categories, y=drawn, name=name, marker_color=colour)
        figure.add_trace(trace)
    _layout(figure, y_title, horizontal, len(categories))
    if stacked:
        figure.update_layout(barmode="stack")
    return figure.to_json()


def line_figure(categories: list[str], series: dict[str, list[Any]], *, y_title: str) -> str:
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        figure.add_trace(
            go.Scatter(x=categories, y=[plot_value(v) for v in values], name=name,
                       mode="lines+markers", connectgaps=False,
                       line={"color": GOVUK_COLOURS[index % len(GOVUK_COLOURS)]})
        )  # fmt: skip
    _layout(figure, y_title, False, len(categories))
    return figure.to_json()


def _layout(figure: go.Figure, axis_title: str, horizontal: bool, bars: int) -> None:
    value_axis = {"title": axis_title, "rangemode": "tozero"}
    figure.update_layout(
        font={"family": "arial, sans-serif", "size": 14},
        margin={"l": 60 if not horizontal else 300, "r": 20, "t": 20, "b": 40},
        height=max(340, 26 * bars + 100) if horizontal else 340,
        legend={"orientation": "h", "y": -0.2},
        plot_bgcolor="#ffffff",
        xaxis=value_axis if horizontal else {"type": "category"},
        yaxis={"type": "category", "autorange": "reversed"} if horizontal else value_axis,
    )


def total(values: list[Any]) -> Decimal | int:
    """The sum of the figures present (suppression is applied afterwards, to the total too)."""
    return sum((value for value in values if value is not None and value is not SUPPRESSED), 0)
