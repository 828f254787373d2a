"""device match indexes: devices' name, FQDN and serial lower-cased, as lookups and the inventory
merge compare them (expression indexes, on SQLite and PostgreSQL alike)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None
compatibility = "expand"  # indexes only; older code runs on them unchanged

COLUMNS = ('name', 'fqdn', 'serial')


def upgrade() -> None:
    for column in COLUMNS:
        op.create_index(f'ix_devices_tenant_lower_{column}', 'devices',
                        ['tenant_id', sa.text(f'lower({column})')], unique=False)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f'ix_devices_tenant_lower_{column}', table_name='devices')
