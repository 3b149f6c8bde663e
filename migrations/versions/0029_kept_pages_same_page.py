"""kept pages: each page says what it shows apart from the stamps and the day (page,
filters, threshold), so that the newest kept page of it can be shown while the year's
suppression patterns are worked out again after a change (pam.dashboards.pages). The
table is a cache: its rows are emptied rather than given a value they were not kept with.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-25 02:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('DELETE FROM kept_pages')
    with op.batch_alter_table('kept_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('same_page', sa.String(length=64), nullable=False))
        batch_op.create_index('ix_kept_pages_same_page', ['same_page'], unique=False)


def downgrade():
    with op.batch_alter_table('kept_pages', schema=None) as batch_op:
        batch_op.drop_index('ix_kept_pages_same_page')
        batch_op.drop_column('same_page')
