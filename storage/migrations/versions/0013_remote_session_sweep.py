"""remote_sessions: state_since (when the row entered its state) and reply_to (where its
requester asked), so a session a crash left pending or closing is settled and its requester told

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "breaking"  # NOT NULL columns the code before leaves out


def upgrade() -> None:
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('state_since', storage.base.UTCDateTime(timezone=True),
                                      nullable=True))
    # Rows from before: their state is as old as the row (closed_at where they ended).
    op.execute("UPDATE remote_sessions SET reply_to = '{}', "
               "state_since = COALESCE(closed_at, created_at)")
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.alter_column('reply_to', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('state_since', existing_type=storage.base.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.create_index('ix_remote_sessions_state_since', ['state', 'state_since'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_sessions_state_since')
        batch_op.drop_column('state_since')
        batch_op.drop_column('reply_to')
