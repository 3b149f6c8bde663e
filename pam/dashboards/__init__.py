"""Figures for dashboards and contract pages: pure functions from figures to Plotly JSON."""
