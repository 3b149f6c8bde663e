"""contract index revision: a stamp, 'contract index', that database triggers set again
whenever a contract's service or provider, or any contract's areas, change
(pam.returns.revisions). A year's suppression patterns are kept under it as well as the
year's facts revision: the facts triggers see only the facts the changing transaction
sees, and miss one committed meanwhile by another.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-24 09:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa

from pam.returns import revisions


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.get_bind().execute(
        sa.text("INSERT INTO state_revisions (name, revision) VALUES (:name, :revision)"),
        {"name": revisions.CONTRACT_INDEX, "revision": secrets.token_hex(16)},
    )
    revisions.install(op.get_bind(), revisions.CONTRACT_INDEX)


def downgrade():
    revisions.uninstall(op.get_bind(), revisions.CONTRACT_INDEX)
    op.get_bind().execute(
        sa.text("DELETE FROM state_revisions WHERE name = :name"),
        {"name": revisions.CONTRACT_INDEX},
    )
