"""console_tokens: single-use console sign-in links and the browser sessions they open

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('console_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('console_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_tokens_principal_id'), ['principal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_tokens_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('console_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_tokens_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_console_tokens_principal_id'))
        batch_op.drop_index(batch_op.f('ix_console_tokens_expires_at'))

    op.drop_table('console_tokens')
