"""kept exports: a long export's file kept under the revision stamps of what it read, so
that a national year's returns data is made once for each change (pam.exports.kept). A
cache: any row may go.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-25 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kept_exports',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('export', sa.String(length=40), nullable=False),
        sa.Column('year', sa.String(length=16), nullable=False),
        sa.Column('fmt', sa.String(length=8), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('encoding', sa.String(length=16), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name=op.f('pk_kept_exports')),
        sa.UniqueConstraint('export', 'year', 'fmt',
                            name=op.f('uq_kept_exports_export_year_fmt')),
    )


def downgrade():
    op.drop_table('kept_exports')
