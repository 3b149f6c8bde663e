"""drop the facts revision's contract triggers: they stamped only the years a changed
contract reported in, as the changing transaction saw them, and so could miss a fact
committed meanwhile by another. The 'contract index' stamp (0023) covers those changes
for every year, and the patterns are kept under it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-24 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

RETIRED = {
    "contracts_revise_update": "contracts",
    "contract_areas_revise_insert": "contract_areas",
    "contract_areas_revise_delete": "contract_areas",
    "contract_areas_revise_update": "contract_areas",
}


def upgrade():
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    for name, table in RETIRED.items():
        connection.exec_driver_sql(
            f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else "")
        )
    if postgresql:
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS pam_stamp_contract_years()")


def downgrade():
    # Not put back: the 'contract index' stamp covers what they did, without the race.
    pass
