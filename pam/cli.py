"""The `flask --app app pam ...` commands: thin wrappers over the same services, each
owning its one commit."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

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
