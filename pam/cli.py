"""The `flask --app app pam ...` commands: thin wrappers over the same services, each
owning its one commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from pam.extensions import db

pam_cli = AppGroup("pam", help="PAM administration commands.")
audit_cli = AppGroup("audit", help="The audit trail.")
pam_cli.add_command(audit_cli)


def register_commands(app: Flask) -> None:
    app.cli.add_command(pam_cli)


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; name the first broken event."""
    from pam.audit.services import verify_chain

    report = verify_chain()
    if report.ok:
        click.echo(f"OK: the audit chain of {report.checked} events is intact.")
        return
    event = f" (event id {report.broken_event_id})" if report.broken_event_id else ""
    click.echo(
        f"BROKEN at sequence {report.broken_sequence}{event}: {report.problem}. "
        f"{report.checked} events before it verified.",
        err=True,
    )
    sys.exit(1)


@pam_cli.command("demo")
def load_demo() -> None:
    """Load the demo data (a Dorset-like OPCC). Running it twice changes nothing."""
    from pam.demo import load

    if current_app.config["PAM_ENV"] == "production":
        click.echo(
            "Refused: demo data is not loaded in production. "
            "Set PAM_ENV=development to load it on a development machine.",
            err=True,
        )
        sys.exit(2)
    created = load()
    db.session.commit()
    click.echo(
        f"Demo data loaded: {created} new records."
        if created
        else "Demo data already loaded: nothing changed."
    )


@pam_cli.command("rebuild-facts")
def rebuild_facts() -> None:
    """Rebuild the reporting summary the dashboards read from the accepted returns."""
    from pam.returns.facts import rebuild_all

    count = rebuild_all()
    db.session.commit()
    click.echo(f"Reporting summary rebuilt: {count} figures from accepted returns.")


@pam_cli.command("work-out-patterns")
@click.option("--year", "year_label", default=None, help="e.g. 2025/26 (default: this year's)")
def work_out_patterns(year_label: str | None) -> None:
    """Work out the board's suppression patterns for a year ahead of its first view."""
    from pam.core.periods import FinancialYear

    try:
        year = FinancialYear.parse(year_label) if year_label else FinancialYear.containing(_today())
    except ValueError as error:
        click.echo(f"Refused: {error}", err=True)
        sys.exit(2)
    if not current_app.config["PAM_SUPPRESSION_THRESHOLD"]:
        click.echo("Suppression is off (PAM_SUPPRESSION_THRESHOLD=0): nothing to work out.")
        return
    _work_out_patterns(year)


def _work_out_patterns(year) -> None:
    from pam.dashboards import ahead

    families = ahead.work_out(year, _today(), current_app.config["PAM_SUPPRESSION_THRESHOLD"])
    click.echo(f"Suppression patterns for {year.label} worked out: {len(families)} families, "
               f"{sum(families.values())} with small numbers to hide (kept for every server "
               "process, with the year's board pages, unfiltered and for each area and "
               "service).")  # fmt: skip


@pam_cli.command("board-pack")
@click.option("--period", "period_label", required=True, help="The quarter, e.g. 2025/26-Q2.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
def board_pack_command(period_label: str, output: str) -> None:
    """Write the quarterly board pack (the same file as the download) for scheduling."""
    from pam.audit import services as audit
    from pam.audit.models import SystemActor
    from pam.exports import board_pack

    try:
        period = board_pack.parse_period(period_label)
    except ValueError as error:
        click.echo(f"Refused: {error}", err=True)
        sys.exit(2)
    body = board_pack.build(period, _today())
    _write_file(output, body)
    audit.record(
        "export",
        actor=SystemActor("command line: board-pack"),
        record_type="board_pack",
        summary=f"Wrote the board pack for {period.label} to a file",
    )
    db.session.commit()
    click.echo(f"Board pack for {period.label} written to {output} ({len(body):,} bytes).")


@pam_cli.command("seed-dictionary")
def seed_dictionary_command() -> None:
    """Add the standard restorative justice and victims' measures to the dictionary."""
    from pam.audit.models import SystemActor
    from pam.outcomes.dictionary import seed_dictionary

    added = seed_dictionary(SystemActor("command line: seed-dictionary"))
    db.session.commit()
    click.echo(f"{added} measures added to the dictionary." if added else "Dictionary up to date.")


@pam_cli.command("demo-logins")
def demo_logins() -> None:
    """Print the demo accounts and their password."""
    from pam.demo import DEMO_PASSWORD, DEMO_USERS

    click.echo("Demo sign-ins (development only; refused in production):")
    click.echo(f"  password for every demo account: {DEMO_PASSWORD}")
    for user in DEMO_USERS:
        click.echo(f"  {user['role'].label:<24} {user['email']}")
    click.echo(
        "Two-factor sign-in is optional here (set it up from Your account); in production"
        " it is required of administrators, officers and decision makers."
    )


@pam_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.password_option()
def create_admin(email: str, full_name: str, password: str) -> None:
    """Create the first administrator of a new installation."""
    from pam.audit.models import SystemActor
    from pam.auth.models import Role
    from pam.auth.services import create_user
    from pam.core.exceptions import BusinessRuleError

    try:
        create_user(
            SystemActor("command line: create-admin"),
            email=email,
            full_name=full_name,
            role=Role.ADMINISTRATOR,
            password=password,
        )
    except BusinessRuleError as error:
        db.session.rollback()
        click.echo(f"Refused: {error.message}", err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"Administrator {email} created.")


# --- returns -------------------------------------------------------------------------------


def _contract_and_period(reference: str | None, period_label: str | None):
    from sqlalchemy import func, select

    from pam.contracts.models import Contract
    from pam.core.periods import Period

    if not reference or not period_label:
        raise click.ClickException(
            "The file does not say which contract and period it is for: use the template"
        )
    contract = db.session.scalar(
        select(Contract).where(func.upper(Contract.reference) == reference.strip().upper())
    )
    if contract is None:
        raise click.ClickException(f"No contract has the reference {reference}")
    try:
        period = Period.parse(period_label)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    return contract, period


@pam_cli.command("return-template")
@click.option("--contract", "reference", required=True, help="Contract reference")
@click.option("--period", "period_label", required=True, help="For example 2025/26-Q2")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
def return_template(reference: str, period_label: str, output: str) -> None:
    """Write the return template a provider would download."""
    from pam.audit import services as audit
    from pam.audit.models import SystemActor
    from pam.returns import services
    from pam.returns.spreadsheet import write_template

    contract, period = _contract_and_period(reference, period_label)
    layout = services.layout_for(contract, period)
    if not layout.section("measures"):
        raise click.ClickException(f"{contract.reference} has no measures to report yet")
    _write_file(output, write_template(layout))
    audit.record(
        "export",
        actor=SystemActor("command line: return-template"),
        record_type="contracts",
        record_id=contract.id,
        record_label=f"{contract.reference} {period.label}",
        summary="Wrote the return template (xlsx)",
    )
    db.session.commit()
    click.echo(f"Template for {contract.reference} {period.label} written to {output}")


@pam_cli.command("import-return")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "email", required=True, help="The provider user submitting it")
@click.option("--signed-off-by", default=None, help="Name and role (default: the user's)")
@click.option("--correction-reason", default="", help="Needed when correcting an accepted one")
def import_return(path: str, email: str, signed_off_by: str | None, correction_reason: str):
    """Validate and submit a filled return exactly as that user's upload would."""
    from pathlib import Path

    from sqlalchemy import func, select

    from pam.auth.models import User
    from pam.auth.permissions import can_submit_return
    from pam.core.exceptions import BusinessRuleError
    from pam.returns import services
    from pam.returns.imports import FileRefused, identify, read_upload
    from pam.returns.models import ReturnSource
    from pam.returns.workflow import attempt_submission

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None or not user.is_active_account:
        raise click.ClickException(f"No active user has the email address {email}")
    name, content = Path(path).name, Path(path).read_bytes()
    try:
        reference, period_label = identify(name, content)
        contract, period = _contract_and_period(reference, period_label)
        if not can_submit_return(user, contract):
            raise click.ClickException(f"{email} cannot submit returns for {contract.reference}")
        if period not in services.reporting_periods(contract, _today()):
            raise click.ClickException(f"{period.label} is not a reporting period of this contract")
        layout = services.layout_for(contract, period)
        entries = read_upload(name, content, layout, current_app.config["PAM_MAX_UPLOAD_BYTES"])
    except FileRefused as refused:
        raise click.ClickException(str(refused)) from None
    source = ReturnSource.CSV if name.lower().endswith(".csv") else ReturnSource.SPREADSHEET
    sign_off = signed_off_by or ", ".join(filter(None, [user.full_name, user.job_title]))
    try:
        version, problems = attempt_submission(
            user,
            contract,
            period,
            entries,
            signed_off_by=sign_off,
            source=source,
            upload=(name, content),
            correction_reason=correction_reason,
        )
    except BusinessRuleError as error:
        raise click.ClickException(error.message) from None
    if version is None:
        click.echo(
            f"Refused: the return has {len(problems)} problem(s), kept as a draft:", err=True
        )
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"Submitted {contract.reference} {period.label} as version {version.number}.")


@pam_cli.command("import-returns")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--as", "email", required=True, help="The provider user submitting them")
@click.option("--signed-off-by", default=None, help="Name and role (default: the user's)")
@click.option("--accept-as", "reviewer", default=None, help="An officer who accepts each one")
def import_returns_command(path: Path, email: str, signed_off_by: str | None, reviewer: str | None):
    """Import historic returns: a folder of filled templates, or one long-format CSV
    (contract,period,key,value[,explanation]). Each passes the upload's checks; a return
    with any problem imports nothing and is listed with its reasons."""
    from pam.core.periods import Period
    from pam.returns import bulk

    submitter = _active_user(email)
    accepted_by = _active_user(reviewer) if reviewer else None
    if accepted_by is not None and not bulk.can_accept(accepted_by):
        raise click.ClickException(f"{reviewer} cannot accept returns")
    if path.is_dir():
        candidates = list(bulk.from_files(bulk.files_in(path)))
    else:
        candidates = bulk.from_long_csv(path.name, path.read_bytes())
    if not candidates:
        raise click.ClickException(f"No return files (.xlsx, .csv) in {path}")
    sign_off = signed_off_by or ", ".join(filter(None, [submitter.full_name, submitter.job_title]))
    outcomes = []
    with click.progressbar(candidates, label="Importing returns", file=sys.stderr) as bar:
        found = bulk.import_returns(bar, submitter, signed_off_by=sign_off,
                                    accepted_by=accepted_by, today=_today())  # fmt: skip
        outcomes = list(found)
    refused = [outcome for outcome in outcomes if not outcome.imported]
    for outcome in refused:
        click.echo(f"Not imported: {outcome.name}", err=True)
        for reason in outcome.reasons:
            click.echo(f"  - {reason}", err=True)
    done = "and accepted " if accepted_by else ""
    click.echo(f"Imported {done}{len(outcomes) - len(refused)} of {len(outcomes)} returns; "
               f"{len(refused)} not imported.")  # fmt: skip
    if accepted_by is not None and current_app.config["PAM_SUPPRESSION_THRESHOLD"]:
        # The board's figures for those years have changed: work their patterns out now,
        # not on some board member's first view.
        for year in sorted({Period.parse(o.period).year for o in outcomes if o.imported}):
            _work_out_patterns(year)
    if refused:
        sys.exit(1)


def _active_user(email: str):
    from sqlalchemy import func, select

    from pam.auth.models import User

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None or not user.is_active_account:
        raise click.ClickException(f"No active user has the email address {email}")
    return user


def _today():
    from pam.core.periods import today_in_uk

    return today_in_uk()


@pam_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_database(path: Path) -> None:
    """Write a consistent snapshot of the database to PATH while PAM keeps serving."""
    from pam.audit import services as audit
    from pam.audit.models import SystemActor
    from pam.core.backup import BackupError, backup

    try:
        backup(db.engine.url, path)
    except BackupError as error:
        click.echo(f"Backup failed: {error}", err=True)
        sys.exit(1)
    size = path.stat().st_size
    # Recorded after the snapshot, so the backup's own chain ends just before this event.
    try:
        audit.record(
            "backup",
            actor=SystemActor("backup command"),
            summary=f"Database backed up to {path.name}",
        )
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        click.echo(
            f"Backed up to {path} ({size:,} bytes), but the backup could not be recorded in "
            f"the audit trail: {error.__class__.__name__}. The file is complete.",
            err=True,
        )
        sys.exit(3)
    click.echo(f"Backed up to {path} ({size:,} bytes).")


SCHEMA_AFTER_RESTORE = {
    "current": "Its schema is current.",
    "behind": "It is from an older PAM: run `flask --app app db upgrade` before serving it.",
    "ahead": "It is from a newer PAM than this one: install that version before serving it.",
    "not applied": "It carries no schema version: it was not made by `pam backup`.",
}


def _write_file(output: str, body: bytes) -> None:
    try:
        with open(output, "wb") as handle:
            handle.write(body)
    except OSError as error:
        raise click.ClickException(f"Cannot write {output}: {error.strerror}") from None


@pam_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_database(path: Path) -> None:
    """Load a backup made by `pam backup` into this (empty) database, then check the
    audit chain and the schema version."""
    from pam.audit import services as audit
    from pam.audit.models import SystemActor
    from pam.core.backup import BackupError, restore
    from pam.core.health import migrations_directory, schema_revisions, schema_state

    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the empty database open
    try:
        restore(path, db.engine.url)
    except BackupError as error:
        click.echo(f"Restore failed: {error}", err=True)
        sys.exit(1)
    report = audit.verify_chain()
    if not report.ok:
        click.echo(
            f"Restored, but the audit chain is BROKEN at sequence {report.broken_sequence}: "
            f"{report.problem}",
            err=True,
        )
        sys.exit(1)
    audit.record(
        "restore", actor=SystemActor("restore command"), summary=f"Restored from {path.name}"
    )
    db.session.commit()
    click.echo(
        f"Restored from {path}. The audit chain of {report.checked} events is intact. "
        + SCHEMA_AFTER_RESTORE[schema_state(schema_revisions(), migrations_directory())]
    )
