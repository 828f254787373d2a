"""integration_configs (each tenant's own integration configuration, secrets sealed)

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 18:36:34.723205
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('integration_configs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('sealed', sa.JSON(), nullable=False),
    sa.Column('revision', sa.String(length=32), nullable=False),
    sa.Column('updated_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'name')
    )


def downgrade() -> None:
    op.drop_table('integration_configs')
