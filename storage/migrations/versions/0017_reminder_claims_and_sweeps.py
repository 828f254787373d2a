"""reminder_claims (one row per expiry reminder posted, claimed before posting) and
reminder_sweeps (how far the reminder sweep of each kind got)

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06 16:30:36.576173
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0017'
down_revision = '0014'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # new tables


def upgrade() -> None:
    op.create_table('reminder_claims',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('claimed_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kind', 'subject_id', 'days')
    )
    op.create_index('ix_reminder_claims_tenant_id', 'reminder_claims', ['tenant_id'])
    op.create_table('reminder_sweeps',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('swept_to', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'kind')
    )


def downgrade() -> None:
    op.drop_table('reminder_sweeps')
    op.drop_index('ix_reminder_claims_tenant_id', table_name='reminder_claims')
    op.drop_table('reminder_claims')
