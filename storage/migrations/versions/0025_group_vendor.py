"""management_groups.vendor and vendor_ref: the vendor group a management group follows (the
inventory sync finds it by the vendor's id, so a group renamed there is renamed here)

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0023'
branch_labels = None
depends_on = None
compatibility = "expand"  # nullable columns and an index; older code ignores them


def upgrade() -> None:
    with op.batch_alter_table('management_groups') as batch:
        batch.add_column(sa.Column('vendor', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('vendor_ref', sa.String(length=64), nullable=True))
        batch.create_index('ix_management_groups_vendor_ref', ['tenant_id', 'vendor', 'vendor_ref'],
                           unique=False)
    # Until now only 1E groups were followed, by the id kept in tachyon_id.
    op.execute("UPDATE management_groups SET vendor = '1e', vendor_ref = tachyon_id "
               "WHERE tachyon_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('management_groups') as batch:
        batch.drop_index('ix_management_groups_vendor_ref')
        batch.drop_column('vendor_ref')
        batch.drop_column('vendor')
