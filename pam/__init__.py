"""PAM: commissioning and contract performance management for an OPCC.

create_app() only configures: settings, extensions, templates, blueprints, request
hooks and commands. It does no start-up work (no table creation, no data loading).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from pam import database, models  # noqa: F401  (SQLite settings; every model for Alembic)
from pam.config import build_config
from pam.core.urls import BoundedIntConverter
from pam.extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the PAM application. `overrides` replaces settings (tests use it)."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(build_config(Path(app.instance_path), overrides))
    app.url_map.converters["int"] = BoundedIntConverter

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    _configure_templates(app)
    _register_blueprints(app)

    from pam.api import init_api
    from pam.auth.sessions import register_timeouts
    from pam.cli import register_commands
    from pam.core.errors import register_error_pages
    from pam.core.hooks import register_request_hooks
    from pam.core.logs import configure_logging
    from pam.dashboards.kept import init_app as keep_pages
    from pam.dashboards.stored import init_app as keep_patterns
    from pam.exports.kept import init_app as keep_exports

    configure_logging(app)
    init_api(app)
    register_request_hooks(app)
    register_timeouts(app)
    register_error_pages(app)
    register_commands(app)
    keep_patterns(app)
    keep_pages(app)
    keep_exports(app)
    return app


def _configure_templates(app: Flask) -> None:
    """Our templates/ first, then the GOV.UK macros from their packages (prefixed)."""
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf", "templates"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    WTFormsHelpers(app)

    from pam.core import template_helpers

    template_helpers.register(app)


def _register_blueprints(app: Flask) -> None:
    from pam.audit.views import bp as audit_bp
    from pam.auth.two_factor_views import bp as two_factor_bp
    from pam.auth.views import bp as auth_bp
    from pam.contracts.views import bp as contracts_bp
    from pam.core.health import bp as health_bp
    from pam.core.views import bp as core_bp
    from pam.dashboards.views import bp as dashboards_bp
    from pam.decisions.views import bp as decisions_bp
    from pam.evaluations.views import bp as evaluations_bp
    from pam.exports.views import bp as exports_bp
    from pam.market.tender_views import bp as tenders_bp
    from pam.market.views import bp as market_bp
    from pam.outcomes.performance_views import bp as performance_bp
    from pam.outcomes.views import bp as outcomes_bp
    from pam.programmes.views import bp as programmes_bp
    from pam.providers.views import bp as providers_bp
    from pam.returns.views import bp as returns_bp
    from pam.transparency.views import bp as transparency_bp

    blueprints = (
        core_bp,
        health_bp,
        auth_bp,
        two_factor_bp,
        providers_bp,
        contracts_bp,
        outcomes_bp,
        performance_bp,
        returns_bp,
        decisions_bp,
        market_bp,
        tenders_bp,
        programmes_bp,
        transparency_bp,
        dashboards_bp,
        exports_bp,
        evaluations_bp,
        audit_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
