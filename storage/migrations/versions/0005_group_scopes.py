"""1E management group of a deskhand group, and the scope a run is issued with

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # nullable columns


def upgrade() -> None:
    with op.batch_alter_table('management_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tachyon_id', sa.String(length=64), nullable=True))
    with op.batch_alter_table('instruction_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_group', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('vendor_scope', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instruction_runs', schema=None) as batch_op:
        batch_op.drop_column('vendor_scope')
        batch_op.drop_column('target_group')
    with op.batch_alter_table('management_groups', schema=None) as batch_op:
        batch_op.drop_column('tachyon_id')
