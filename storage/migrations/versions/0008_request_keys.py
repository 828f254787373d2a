"""request_keys: the replay keys of requests already taken in, shared by every process

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('request_keys',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('expires_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('request_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_keys_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('request_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_keys_expires_at'))
    op.drop_table('request_keys')
