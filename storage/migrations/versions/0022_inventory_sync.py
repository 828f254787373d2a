"""inventory sync: device_sources (which vendor reports which device) and devices.retired_at

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table and a nullable column


def upgrade() -> None:
    op.add_column('devices', sa.Column('retired_at', storage.base.UTCDateTime(timezone=True),
                                       nullable=True))
    op.create_table('device_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('group_name', sa.String(length=200), nullable=True),
    sa.Column('group_ref', sa.String(length=64), nullable=True),
    sa.Column('group_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_seen', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('seen_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'source', 'external_id')
    )
    op.create_index(op.f('ix_device_sources_device_id'), 'device_sources', ['device_id'],
                    unique=False)
    op.create_index(op.f('ix_device_sources_tenant_id'), 'device_sources', ['tenant_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_device_sources_tenant_id'), table_name='device_sources')
    op.drop_index(op.f('ix_device_sources_device_id'), table_name='device_sources')
    op.drop_table('device_sources')
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('retired_at')
