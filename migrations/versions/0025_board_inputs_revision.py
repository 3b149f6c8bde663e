"""board inputs revision: a stamp, 'board inputs', that database triggers set again
whenever anything else the board's dashboards read changes (contracts, their areas and
compliance, providers, areas, services, budgets, funding decisions, frameworks and the
measures' names: pam.returns.revisions). Each server process keeps whole dashboard pages
under it, the year's facts revision and the return states.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-24 11:20:00

"""
import secrets

from alembic import op
import sqlalchemy as sa

from pam.returns import revisions


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.get_bind().execute(
        sa.text("INSERT INTO state_revisions (name, revision) VALUES (:name, :revision)"),
        {"name": revisions.BOARD_INPUTS, "revision": secrets.token_hex(16)},
    )
    revisions.install(op.get_bind(), revisions.BOARD_INPUTS)


def downgrade():
    revisions.uninstall(op.get_bind(), revisions.BOARD_INPUTS)
    op.get_bind().execute(
        sa.text("DELETE FROM state_revisions WHERE name = :name"),
        {"name": revisions.BOARD_INPUTS},
    )
