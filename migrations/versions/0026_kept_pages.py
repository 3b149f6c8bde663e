"""kept pages: built dashboard pages kept in the database, so that one server process
builds a page and every other reads it (pam.dashboards.kept). A cache: any row may go.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-24 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kept_pages',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('page', sa.String(length=40), nullable=False),
        sa.Column('year', sa.String(length=16), nullable=False),
        sa.Column('stamps', sa.String(length=200), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name=op.f('pk_kept_pages')),
    )
    op.create_index('ix_kept_pages_page_year', 'kept_pages', ['page', 'year'], unique=False)


def downgrade():
    op.drop_index('ix_kept_pages_page_year', table_name='kept_pages')
    op.drop_table('kept_pages')
