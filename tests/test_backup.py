"""`pam backup` and `pam restore`: a populated database survives the round trip with every
row and an intact audit chain; a backup does not wait for writers; restore refuses
anything but an empty database and a real backup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pam import create_app
from pam.extensions import db


@pytest.fixture
def empty_database_url(database_url, tmp_path) -> Iterator[str]:
    """A second, empty database of the same kind as the test database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = "pam_restore_test"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def invoke_on(url: str, *args: str):
    """Run a CLI command against another database (its own app and app context: the
    test's context would otherwise be reused)."""
    other = app_on(url)
    with other.app_context():
        result = other.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        db.engine.dispose()
    return result


def app_on(url: str):
    return create_app(
        {
            "PAM_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def stamp_migration_head(revision: str | None = None) -> None:
    """The test schema comes from create_all; a real database carries its revision (by
    default this PAM's newest)."""
    from pam.core.health import migration_heads, migrations_directory

    [head] = migration_heads(migrations_directory())
    db.session.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32))"))
    db.session.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision or head})
    db.session.commit()


@pytest.fixture
def alembic_cleanup() -> Iterator[None]:
    yield
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


def test_a_populated_database_round_trips_with_its_audit_chain_intact(
    records, runner, tmp_path, empty_database_url, alembic_cleanup
):
    stamp_migration_head()
    before = row_counts()
    assert before["audit_events"] > 50 and before["contracts"] >= 2
    backup_file = tmp_path / "pam.backup"

    result = runner.invoke(args=["pam", "backup", str(backup_file)])
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output

    restored = invoke_on(empty_database_url, "pam", "restore", str(backup_file))
    assert restored.exit_code == 0, restored.output
    assert f"The audit chain of {before['audit_events']} events is intact" in restored.output
    assert "Its schema is current." in restored.output
    target = app_on(empty_database_url)
    with target.app_context():
        after = row_counts()
        from pam.audit.services import verify_chain

        assert verify_chain().ok
        db.engine.dispose()
    # The backup event is written after the snapshot; the restore adds its own event.
    assert after == {**before, "audit_events": before["audit_events"] + 1}

    again = invoke_on(empty_database_url, "pam", "restore", str(backup_file))
    assert again.exit_code == 1
    assert "The database is not empty" in again.output


def test_a_backup_does_not_wait_for_an_open_write(records, tmp_path, database_url):
    from pam.core.backup import backup

    writer = create_engine(database_url)
    with writer.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            text("INSERT INTO login_failures (account, address, occurred_at) VALUES (:a, :b, :c)"),
            {"a": "in-flight@example.org", "b": "10.0.0.1", "c": "2026-01-01 00:00:00"},
        )
        backup(database_url, tmp_path / "during-a-write.backup")  # would hang if it waited
        transaction.commit()
    writer.dispose()
    assert (tmp_path / "during-a-write.backup").stat().st_size > 0


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, empty_database_url):
    bogus = tmp_path / "notes.backup"
    bogus.write_bytes(b"these are my notes, not a database")
    result = (
        app_on(empty_database_url).test_cli_runner().invoke(args=["pam", "restore", str(bogus)])
    )
    assert result.exit_code == 1
    assert "is not a PAM backup" in result.output


def test_backup_never_overwrites_a_file(runner, tmp_path):
    existing = tmp_path / "keep.backup"
    existing.write_bytes(b"an older backup")
    result = runner.invoke(args=["pam", "backup", str(existing)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert existing.read_bytes() == b"an older backup"


@pytest.mark.parametrize(
    ("revision", "says"),
    [("0016", "It is from an older PAM: run `flask --app app db upgrade`"),
     ("9999", "It is from a newer PAM than this one")],
)  # fmt: skip
def test_restore_says_whether_the_backups_schema_matches_this_pam(
    records, runner, tmp_path, empty_database_url, alembic_cleanup, revision, says
):
    stamp_migration_head(revision)
    runner.invoke(args=["pam", "backup", str(tmp_path / "old.backup")])
    restored = invoke_on(empty_database_url, "pam", "restore", str(tmp_path / "old.backup"))
    assert restored.exit_code == 0 and says in restored.output


def test_a_failed_backup_leaves_no_file_so_a_retry_is_not_refused(runner, tmp_path, monkeypatch):
    from pam.core import backup as backups

    def breaks(*args, **kwargs):
        raise backups.BackupError("The SQLite copy failed: disk I/O error")

    monkeypatch.setattr(backups, "_sqlite_copy", breaks)  # SQLite
    monkeypatch.setattr(backups, "_run_pg_tool", breaks)  # PostgreSQL
    target = tmp_path / "nightly.backup"
    failed = runner.invoke(args=["pam", "backup", str(target)])
    assert failed.exit_code == 1 and "disk I/O error" in failed.output
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary left behind
    monkeypatch.undo()
    assert runner.invoke(args=["pam", "backup", str(target)]).exit_code == 0
    assert target.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_backup_and_restore_answer_operator_mistakes_plainly(runner, tmp_path, empty_database_url):
    missing = runner.invoke(args=["pam", "backup", str(tmp_path / "no-such-folder" / "x.backup")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert missing.exception is None or isinstance(missing.exception, SystemExit)
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 600)
    result = invoke_on(empty_database_url, "pam", "restore", str(damaged))
    if make_url(empty_database_url).get_backend_name() == "sqlite":
        assert result.exit_code == 1 and "cannot be read as a database" in result.output
    pack = runner.invoke(
        args=["pam", "board-pack", "--period", "2025/26-Q1", "-o", str(tmp_path / "no" / "b.xlsx")]
    )
    assert pack.exit_code == 1 and "Cannot write" in pack.output


def test_the_audit_failing_after_a_good_backup_is_reported_as_such(runner, tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from pam.audit import services as audit

    def locked(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(audit, "record", locked)
    result = runner.invoke(args=["pam", "backup", str(tmp_path / "ok.backup")])
    assert result.exit_code == 3
    assert "could not be recorded in the audit trail" in result.output
    assert (tmp_path / "ok.backup").stat().st_size > 0
