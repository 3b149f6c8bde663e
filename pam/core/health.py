"""The health check a load balancer polls: is the database reachable, and is its schema
at the migrations' head? No sign-in, no personal or business data in the answer."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pam.extensions import db

bp = Blueprint("health", __name__)


@cache
def migration_heads(directory: str) -> frozenset[str]:
    """The newest revision(s) in the migrations folder (read once per process)."""
    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@cache
def known_revisions(directory: str) -> frozenset[str]:
    """Every revision this version of PAM has a migration for."""
    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(s.revision for s in ScriptDirectory.from_config(config).walk_revisions())


def schema_state(revisions: set[str], directory: str) -> str:
    """current, behind (run the migrations), ahead (the database was migrated by a newer
    PAM than this one) or not applied."""
    if not revisions:
        return "not applied"
    if revisions == set(migration_heads(directory)):
        return "current"
    return "behind" if revisions <= known_revisions(directory) else "ahead"


def migrations_directory() -> str:
    return str(Path(current_app.extensions["migrate"].directory))


def schema_revisions() -> set[str]:
    return set(db.session.scalars(text("SELECT version_num FROM alembic_version")))


@bp.get("/health")
def health():
    """200 {"status": "ok"} when all is well; 503 with what is wrong otherwise."""
    checks = {"database": "ok", "migrations": "current"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
    else:
        try:
            revisions = schema_revisions()
        except SQLAlchemyError:
            db.session.rollback()
            revisions = set()
        checks["migrations"] = schema_state(revisions, migrations_directory())
    healthy = checks == {"database": "ok", "migrations": "current"}
    response = jsonify({"status": "ok" if healthy else "unhealthy", **checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
