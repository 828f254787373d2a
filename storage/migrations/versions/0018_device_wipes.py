"""device_wipes: wipe and enterprise wipe requests, from the typed confirmation to
Workspace ONE's answer

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:35:58.005501
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('device_wipes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('state_since', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('device_name', sa.String(length=200), nullable=False),
    sa.Column('device_group', sa.String(length=200), nullable=True),
    sa.Column('ws1_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=False),
    sa.Column('for_email', sa.String(length=320), nullable=True),
    sa.Column('ticket', sa.String(length=64), nullable=True),
    sa.Column('reply_to', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=320), nullable=True),
    sa.Column('sent_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=1000), nullable=False),
    sa.Column('correlation_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_id'], ['principals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('device_wipes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_wipes_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_device_wipes_state_since', ['state', 'state_since'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_wipes_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_wipes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_wipes_tenant_id'))
        batch_op.drop_index('ix_device_wipes_state_since')
        batch_op.drop_index(batch_op.f('ix_device_wipes_requester_id'))

    op.drop_table('device_wipes')
