"""scim (SCIM provisioning: each tenant's token; principals' userName, resource and update time;
which directory groups SCIM made)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table, nullable or defaulted columns


def upgrade() -> None:
    op.create_table('scim_tokens',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id'),
    sa.UniqueConstraint('secret_hash')
    )
    op.add_column('principals', sa.Column('user_name', sa.String(length=320), nullable=True))
    op.add_column('principals', sa.Column('scim', sa.JSON(), nullable=True))
    op.add_column('principals', sa.Column('updated_at', storage.base.UTCDateTime(timezone=True),
                                          nullable=True))
    op.create_index('ix_principals_tenant_user_name', 'principals', ['tenant_id', 'user_name'],
                    unique=True)
    op.add_column('directory_groups', sa.Column('scim', sa.Boolean(), nullable=False,
                                                server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('directory_groups') as batch:
        batch.drop_column('scim')
    op.drop_index('ix_principals_tenant_user_name', table_name='principals')
    with op.batch_alter_table('principals') as batch:
        batch.drop_column('updated_at')
        batch.drop_column('scim')
        batch.drop_column('user_name')
    op.drop_table('scim_tokens')
