"""chat_workspaces (which tenant each Slack workspace, Enterprise Grid org and Teams tenant
belongs to; a Slack workspace's own bot token, sealed)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None
compatibility = "expand"  # a new table; code before it never reads it


def upgrade() -> None:
    op.create_table('chat_workspaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('bot_token', sa.String(length=2000), nullable=True),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'kind', 'external_id')
    )
    op.create_index(op.f('ix_chat_workspaces_tenant_id'), 'chat_workspaces', ['tenant_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_chat_workspaces_tenant_id'), table_name='chat_workspaces')
    op.drop_table('chat_workspaces')
