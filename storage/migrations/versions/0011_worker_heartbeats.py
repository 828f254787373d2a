"""worker_heartbeats: each worker process's last report, read by /readyz of listeners with workers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # a new table


def upgrade() -> None:
    op.create_table('worker_heartbeats',
    sa.Column('worker', sa.String(length=200), nullable=False),
    sa.Column('replica', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('beat_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker')
    )
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_heartbeats_beat_at'), ['beat_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_heartbeats_beat_at'))

    op.drop_table('worker_heartbeats')
