"""Error pages in the GOV.UK style (400, 403, 404, 405, 413, 500, 503)."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError

from pam.extensions import db

TITLES = {
    400: "There was a problem with your request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "Page not found",
    413: "The file is too large",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


def register_error_pages(app: Flask) -> None:
    """Render every HTTP error with the portal's layout."""

    def render(status: int, detail: str | None = None):
        # 405 looks like 404: a wrong method on a real URL reveals nothing more.
        shown = 404 if status == 405 else status
        return render_template(
            "core/error.html", status=shown, title=TITLES[shown], detail=detail
        ), shown

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, lambda error, s=status: render(s))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render(
            400,
            "The form had expired or was sent from somewhere else. "
            "Go back, refresh the page and try again: nothing was saved.",
        )

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render(500)

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        """A lost database connection (a restart, a failover, a killed session) is the
        user's to retry: the transaction died with the connection, so nothing was saved.
        Any other database error is a fault, handled as one (a 500, logged)."""
        db.session.rollback()
        if not error.connection_invalidated:
            raise error
        app.logger.warning("database connection lost during a request", exc_info=error)
        return render(
            503,
            "The service lost its connection to the database. Nothing was saved: "
            "go back and try again in a moment.",
        )
