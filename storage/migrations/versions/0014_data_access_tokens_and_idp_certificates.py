"""data_access_tokens (Delta Sharing bearer tokens, hashed) and idp_certificates (the key pairs
of deskhand's client assertions, private keys sealed)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 16:25:14.337403
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # new tables


def upgrade() -> None:
    op.create_table('idp_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('thumbprint', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_since', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_before', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_after', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('activated_by', sa.String(length=320), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'thumbprint'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('idp_certificates', schema=None) as batch_op:
        batch_op.create_index('ix_idp_certificates_due', ['state', 'not_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_idp_certificates_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('data_access_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=320), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_since', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lifetime', sa.String(length=4), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_email', sa.String(length=320), nullable=False),
    sa.Column('reply_to', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=320), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['principals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('data_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_access_tokens_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index('ix_data_access_tokens_due', ['state', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_access_tokens_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('data_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_access_tokens_tenant_id'))
        batch_op.drop_index('ix_data_access_tokens_due')
        batch_op.drop_index(batch_op.f('ix_data_access_tokens_created_by_id'))

    op.drop_table('data_access_tokens')
    with op.batch_alter_table('idp_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idp_certificates_tenant_id'))
        batch_op.drop_index('ix_idp_certificates_due')

    op.drop_table('idp_certificates')
