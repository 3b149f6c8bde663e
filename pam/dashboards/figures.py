"""Plotly figures, built from plain data and returned as JSON for the page's chart script.

The page never runs inline script (the Content-Security-Policy forbids it): a figure is
written into a <script type="application/json"> block and assets/js/charts.js draws it
with the locally served plotly.min.js.
"""

from __future__ import annotations

from decimal import Decimal

import plotly.graph_objects as go

from pam.outcomes.models import Direction
from pam.outcomes.performance import MeasureRow

GOVUK_COLOURS = ["#1d70b8", "#f47738", "#00703c", "#4c2c92", "#d4351c", "#28a197", "#b58840",
                 "#f499be", "#6f72af", "#505a5f"]  # fmt: skip


def percent_of_target(actual: Decimal | None, target: Decimal | None, direction: Direction):
    """How far along its target a figure is, 100 being on target, for either direction."""
    if actual is None or not target:
        return None
    if direction == Direction.HIGHER:
        return float(actual / target * 100)
    return float(target / actual * 100) if actual else 200.0


def trend_figure(rows_by_year: list[list[MeasureRow]]) -> str:
    """Each measure's performance against target over the periods, as one line each."""
    figure = go.Figure()
    series: dict[str, tuple[list[str], list[float | None]]] = {}
    for rows in rows_by_year:
        for row in rows:
            name = f"{row.measure.metric.code} {row.version.name}"
            labels, values = series.setdefault(name, ([], []))
            for cell in row.cells:
                labels.append(f"{cell.period.short_name} {cell.period.year.label[2:]}")
                values.append(percent_of_target(cell.actual, cell.target, row.version.direction))
    for index, (name, (labels, values)) in enumerate(series.items()):
        while values and values[-1] is None:  # periods still to come are left off
            labels, values = labels[:-1], values[:-1]
        figure.add_trace(
            go.Scatter(x=labels, y=values, name=name, mode="lines+markers", connectgaps=False,
                       line={"color": GOVUK_COLOURS[index % len(GOVUK_COLOURS)]})
        )  # fmt: skip
    figure.add_hline(y=100, line_dash="dash", line_color="#0b0c0c", annotation_text="Target")
    figure.update_layout(
        font={"family": "arial, sans-serif", "size": 14},
        margin={"l": 50, "r": 20, "t": 20, "b": 40},
        height=380,
        yaxis={"title": "% of target", "rangemode": "tozero"},
        xaxis={"tickangle": 0, "type": "category"},
        legend={"orientation": "h", "y": -0.2},
        plot_bgcolor="#ffffff",
    )
    return figure.to_json()
