"""inbox: chat requests acknowledged and not yet finished

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('lease_until', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_claim', ['claimed_by', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_claim')
    op.drop_table('inbox')
