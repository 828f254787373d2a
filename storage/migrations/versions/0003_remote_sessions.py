"""remote sessions (TeamViewer) and the tenant's TeamViewer OAuth tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # new tables


def upgrade() -> None:
    op.create_table('remote_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('device_name', sa.String(length=200), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=False),
    sa.Column('end_customer', sa.String(length=320), nullable=True),
    sa.Column('ticket', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('full_client', sa.Boolean(), nullable=True),
    sa.Column('supporter_link', sa.String(length=1000), nullable=False),
    sa.Column('end_customer_link', sa.String(length=1000), nullable=False),
    sa.Column('webclient_link', sa.String(length=1000), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('valid_until', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('correlation_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=320), nullable=True),
    sa.Column('end_state', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_id'], ['principals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_remote_sessions_tenant_code', ['tenant_id', 'code'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_sessions_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_sessions_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_sessions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('teamviewer_credentials',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=False),
    sa.Column('expires_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('connected_by', sa.String(length=320), nullable=False),
    sa.Column('connected_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('refreshed_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('teamviewer_oauth_states',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('verifier', sa.Text(), nullable=False),
    sa.Column('expires_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state_hash')
    )
    with op.batch_alter_table('teamviewer_oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teamviewer_oauth_states_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('teamviewer_oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teamviewer_oauth_states_tenant_id'))
    op.drop_table('teamviewer_oauth_states')
    op.drop_table('teamviewer_credentials')
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_sessions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_remote_sessions_state'))
        batch_op.drop_index(batch_op.f('ix_remote_sessions_requester_id'))
        batch_op.drop_index('ix_remote_sessions_tenant_code')
    op.drop_table('remote_sessions')
