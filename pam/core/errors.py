"""Error pages in the GOV.UK style (400, 403, 404, 405, 413, 500, 503)."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from pam.api.problems import is_api_request, problem_for
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

    def render(status: int, detail: str | None = None, error: HTTPException | None = None):
        if is_api_request():  # an API client gets problem details, never a page
            return problem_for(error, status, detail or "")
        # 405 looks like 404: a wrong method on a real URL reveals nothing more.
        shown = 404 if status == 405 else status
        return render_template(
            "core/error.html", status=shown, title=TITLES[shown], detail=detail
        ), shown

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, lambda error, s=status: render(s, error=error))

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException):
        """Codes the pages never send themselves (401, 409, 422, 429...): problem details
        for the API, Werkzeug's plain answer anywhere else."""
        if is_api_request() and error.code:
            return render(error.code, error=error)
        return error

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
        api_detail = "Try again later: nothing was half-saved." if is_api_request() else None
        return render(500, api_detail)

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
