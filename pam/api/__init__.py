"""PAM's JSON API (pam.api.v1), its OpenAPI document and the API token pages.

flask-smorest builds the OpenAPI 3 document from the views' marshmallow schemas and
validates requests against them; Flask-Limiter limits each token's (or address's) rate.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api


class PamApi(Api):
    """flask-smorest's Api, leaving error handling to PAM's own handlers, which answer
    problem details under /api/ and the portal's pages everywhere else."""

    def _register_error_handlers(self):
        pass


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
    api.register_blueprint(v1.bp)
