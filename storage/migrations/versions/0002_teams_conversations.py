"""teams conversation references for proactive messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('teams_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=500), nullable=False),
    sa.Column('conversation_type', sa.String(length=32), nullable=False),
    sa.Column('aad_tenant_id', sa.String(length=100), nullable=False),
    sa.Column('team_id', sa.String(length=200), nullable=True),
    sa.Column('channel_id', sa.String(length=200), nullable=True),
    sa.Column('user_aad_id', sa.String(length=100), nullable=True),
    sa.Column('service_url', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.JSON(), nullable=False),
    sa.Column('installed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'conversation_id')
    )
    with op.batch_alter_table('teams_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_conversations_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_teams_conversations_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_teams_conversations_user_aad_id'), ['user_aad_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('teams_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_conversations_user_aad_id'))
        batch_op.drop_index(batch_op.f('ix_teams_conversations_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_teams_conversations_channel_id'))

    op.drop_table('teams_conversations')
