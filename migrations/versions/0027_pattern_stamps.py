"""pattern stamps: a kept suppression pattern names the revision stamps it holds under,
so that a page for a few contracts can read their facts alone (with a new PATTERN_VERSION:
every pattern kept before is worked out again).

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-24 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    # Kept in the old format, no pattern can be read by version 3: a cache, so emptied.
    op.execute("DELETE FROM suppression_patterns")
    with op.batch_alter_table('suppression_patterns') as batch_op:
        batch_op.add_column(sa.Column('stamps', sa.String(length=200), nullable=True))


def downgrade():
    op.execute("DELETE FROM suppression_patterns")
    with op.batch_alter_table('suppression_patterns') as batch_op:
        batch_op.drop_column('stamps')
