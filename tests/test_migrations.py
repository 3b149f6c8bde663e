"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

A model change without its migration fails here, as does a migration that does not apply
to an empty database. On PostgreSQL the migrations run in a schema of their own, so the
rest of the suite's tables are untouched.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from pam import create_app
from pam.audit.models import GENESIS_HASH, AuditChainHead
from pam.extensions import db
from pam.returns import revisions

SCHEMA = "pam_migration_test"


@pytest.fixture
def migrated_app(database_url, tmp_path):
    url = make_url(database_url)
    engine_options: dict = {}
    if url.get_backend_name() == "postgresql":
        admin = create_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine_options = {"connect_args": {"options": f"-csearch_path={SCHEMA}"}}
        target = database_url
    else:
        admin = None
        target = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app(
        {
            "PAM_ENV": "testing",
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": target,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        }
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


def test_migrations_build_the_models_schema(migrated_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ: {differences}"
    with db.engine.connect() as connection:  # the facts revision's triggers, which it can't see
        assert revisions.installed(connection) == revisions.expected(db.engine.name)
    head = db.session.scalar(select(AuditChainHead))
    assert head.last_sequence == 0 and head.last_hash == GENESIS_HASH


def test_migrations_go_down_and_up_again(migrated_app):
    upgrade()
    downgrade(revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    with db.engine.connect() as connection:
        assert revisions.installed(connection) == set()
    upgrade()
    assert "users" in inspect(db.engine).get_table_names()


def test_the_health_check_knows_when_the_schema_is_behind(migrated_app):
    client = migrated_app.test_client()
    before = client.get("/health")
    assert before.status_code == 503 and before.json["migrations"] == "not applied"
    upgrade()
    healthy = client.get("/health")
    assert healthy.status_code == 200
    assert healthy.json == {"status": "ok", "database": "ok", "migrations": "current"}
    assert healthy.headers["Cache-Control"] == "no-store"
    downgrade(revision="-1")
    behind = client.get("/health")
    assert behind.status_code == 503 and behind.json["migrations"] == "behind"
    upgrade()
    # Migrated by a newer PAM (a revision this code has never heard of): not "behind".
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = 'ffff_newer'"))
    db.session.commit()
    ahead = client.get("/health")
    assert ahead.status_code == 503 and ahead.json["migrations"] == "ahead"
    db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    db.session.commit()


def test_the_health_check_says_when_the_database_is_unreachable(tmp_path):
    missing = f"sqlite:///{tmp_path}/missing/none.db"  # its folder does not exist
    app = create_app({"PAM_ENV": "testing", "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": missing})
    answer = app.test_client().get("/health")
    assert answer.status_code == 503
    assert answer.json == {"status": "unhealthy", "database": "unreachable",
                           "migrations": "unknown"}  # fmt: skip
