"""PAM's JSON API (pam.api.v1), its OpenAPI document and the API token pages.

flask-smorest builds the OpenAPI 3 document from the views' marshmallow schemas and
validates requests against them; Flask-Limiter limits each token's (or address's) rate.
"""

from __future__ import annotations

import http

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from pam.api.problems import PROBLEM_TYPE
from pam.api.schemas import Money, ProblemDetails


class PamApi(Api):
    """flask-smorest's Api, leaving error handling to PAM's own handlers, which answer
    problem details under /api/ and the portal's pages everywhere else; the document
    describes those errors as they are sent (problem+json)."""

    ERROR_SCHEMA = ProblemDetails

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        """flask-smorest's lazily registered error responses (one per status, and the
        default), typed application/problem+json rather than application/json."""
        for status in http.HTTPStatus:
            if status < 400:
                continue
            self._register_problem_response(status.name, status.phrase)
        self._register_problem_response(self.DEFAULT_ERROR_RESPONSE_NAME, "Any other error")

    def _register_problem_response(self, name: str, description: str) -> None:
        response = {"description": description, "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response(name, response, lazy=True)


def _rate_key() -> str:
    """Per token once its secret is proven; anything else (no token, a wrong or unusable
    one) per address. Keying on the prefix a caller claims would let anyone who has seen
    a token's prefix use up its allowance, and give each made-up prefix a fresh one."""
    from pam.api.v1 import request_token

    token, _ = request_token()
    return f"token:{token.id}" if token is not None else "address:" + (get_remote_address() or "")


api = PamApi()
limiter = Limiter(key_func=_rate_key)


def init_api(app: Flask) -> None:
    from pam.api import v1
    from pam.api.views import bp as token_pages
    from pam.extensions import csrf

    app.register_blueprint(token_pages)
    limiter.init_app(app)
    limiter.limit(v1.rate_limit)(v1.bp)
    csrf.exempt(v1.bp)  # token-only: no cookie is ever read, so nothing to forge
    api.init_app(app)
    api.register_field(Money, "string", "decimal")
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "An API token: pam_..."},
    )
    api.register_blueprint(v1.bp)
