"""suppression patterns: worked-out patterns kept under a digest of their inputs, so
that every server process and restart reads them instead of working them out again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24 03:03:26.336350

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suppression_patterns',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=80), nullable=False),
    sa.Column('year', sa.String(length=16), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('hidden', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_suppression_patterns'))
    )
    with op.batch_alter_table('suppression_patterns', schema=None) as batch_op:
        batch_op.create_index('ix_suppression_patterns_family_year', ['family', 'year'], unique=False)



def downgrade():
    with op.batch_alter_table('suppression_patterns', schema=None) as batch_op:
        batch_op.drop_index('ix_suppression_patterns_family_year')

    op.drop_table('suppression_patterns')
