"""Jinja globals and filters: navigation, permissions, money and dates in UK style."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from flask import Flask, request, url_for
from markupsafe import Markup, escape

from pam.auth import permissions
from pam.core.periods import UK, as_utc, today_in_uk


def format_date(value: date | datetime | None) -> str:
    """'23 November 2026' (GOV.UK style)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = uk_time(value)
    return f"{value.day} {value:%B %Y}"


def uk_time(value: datetime) -> datetime:
    """A stored UTC moment in UK local time (SQLite returns it without a zone)."""
    return as_utc(value).astimezone(UK)


def format_datetime(value: datetime | None) -> str:
    """'23 November 2026, 2:05pm' in UK local time."""
    if value is None:
        return ""
    local = uk_time(value)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y}, {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def format_money(value: Decimal | int | None) -> str:
    """'£12,345.67' (exact: Decimal, never float)."""
    if value is None:
        return ""
    return f"£{Decimal(value):,.2f}"


def script_json(text: str | None) -> Markup:
    """JSON text made safe inside a <script type="application/json"> block: <, > and &
    escaped as JSON unicode escapes, so no value (a provider's name, say) can close it."""
    safe = (text or "null").replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(safe.replace("&", "\\u0026"))  # noqa: S704 - escaped just above  # nosec B704


def query_args(*leave_out: str) -> dict[str, str]:
    """The current query arguments, less some (so a link can set them itself)."""
    return {k: v for k, v in request.args.items() if k not in leave_out}


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (for filters and pagination)."""
    args = request.args.to_dict(flat=True)
    args.update({key: value for key, value in changes.items() if value is not None})
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def option_tags(choices, chosen) -> Markup:
    """A select's <option>s for (value, label) pairs, `chosen` selected. A national
    deployment offers 2,000 providers on every dashboard: drawn by Jinja they were most of
    a warm view, so each list's tags are made once per process and only the choice is
    marked each time."""
    chosen = None if chosen is None else str(chosen)
    # Kept under each value and label with its type: True and 1, or a Markup label and a
    # str one, are equal as keys but make different tags.
    typed = tuple((type(value), value, type(label), label) for value, label in choices)
    tags = "".join(
        f"{opening} selected{rest}" if value == chosen else opening + rest
        for value, opening, rest in _tags(typed)
    )
    return Markup(tags)  # noqa: S704 - each value and label escaped in _tags  # nosec B704


@lru_cache(maxsize=32)
def _tags(choices: tuple[tuple, ...]) -> tuple[tuple[str, str, str], ...]:
    """(value as text, the tag's opening, the rest) for each choice, escaped."""
    return tuple((str(value), f'<option value="{escape(value)}"', f">{escape(label)}</option>")
                 for _, value, _, label in choices)  # fmt: skip


def register(app: Flask) -> None:
    """Make the helpers available in every template."""
    from pam.dashboards.charts import cell_text, drawn_chart

    app.jinja_env.filters.update(
        date=format_date,
        datetime=format_datetime,
        money=format_money,
        cell=cell_text,
        script_json=script_json,
    )
    app.jinja_env.globals.update(
        can=permissions.can,
        Permission=permissions.Permission,
        navigation_for=permissions.navigation_for,
        url_with=url_with,
        query_args=query_args,
        today=today_in_uk,
        drawn_chart=drawn_chart,
        option_tags=option_tags,
    )

    @app.context_processor
    def service_names():
        return {
            "organisation_name": app.config["PAM_ORGANISATION_NAME"],
            "service_name": app.config["PAM_SERVICE_NAME"],
        }
