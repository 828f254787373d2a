"""instruction catalogue, runs, approval requests, workflow cards and responses

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # new tables


def upgrade() -> None:
    op.create_table('instruction_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('readable_payload', sa.String(length=1000), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('instruction_set', sa.String(length=200), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('synced_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'name')
    )
    with op.batch_alter_table('instruction_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_definitions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('instruction_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('definition_name', sa.String(length=200), nullable=False),
    sa.Column('definition_vendor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('instruction_set', sa.String(length=200), nullable=False),
    sa.Column('readable_payload', sa.String(length=1000), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('target_label', sa.String(length=300), nullable=False),
    sa.Column('target_count', sa.Integer(), nullable=False),
    sa.Column('incident', sa.String(length=64), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=False),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('vendor_status', sa.Integer(), nullable=True),
    sa.Column('issue_attempts', sa.Integer(), nullable=False),
    sa.Column('vendor_approval_tried', sa.Boolean(), nullable=False),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('received_count', sa.Integer(), nullable=False),
    sa.Column('outstanding_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('answers_stored', sa.Integer(), nullable=False),
    sa.Column('errors_stored', sa.Integer(), nullable=False),
    sa.Column('answer_cursor', sa.String(length=200), nullable=False),
    sa.Column('error_cursor', sa.String(length=200), nullable=False),
    sa.Column('gather_minutes', sa.Integer(), nullable=False),
    sa.Column('keep_minutes', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_holder', sa.String(length=200), nullable=True),
    sa.Column('lease_until', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('outcome', sa.String(length=500), nullable=False),
    sa.Column('reply_to', sa.JSON(), nullable=False),
    sa.Column('correlation_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_by', sa.String(length=320), nullable=True),
    sa.Column('responses_purged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['requester_id'], ['principals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instruction_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_runs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_runs_definition_name'), ['definition_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_runs_next_poll_at'), ['next_poll_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_runs_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_runs_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_runs_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_runs_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('approval_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=False),
    sa.Column('expires_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_email', sa.String(length=320), nullable=True),
    sa.Column('decided_via', sa.String(length=400), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('decided_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['principals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_id'], ['principals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['instruction_runs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id')
    )
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_requests_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_requests_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_requests_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('instruction_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('is_error', sa.Boolean(), nullable=False),
    sa.Column('fqdn', sa.String(length=255), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('responded_at', storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['instruction_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instruction_responses', schema=None) as batch_op:
        batch_op.create_index('ix_instruction_responses_page', ['run_id', 'is_error', 'id'], unique=False)

    op.create_table('instruction_run_targets',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('search', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['instruction_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id')
    )
    op.create_table('workflow_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=500), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['instruction_runs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workflow_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_cards_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_cards_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('workflow_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_cards_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_workflow_cards_run_id'))

    op.drop_table('workflow_cards')
    op.drop_table('instruction_run_targets')
    with op.batch_alter_table('instruction_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_instruction_responses_page')

    op.drop_table('instruction_responses')
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_requests_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_approval_requests_state'))
        batch_op.drop_index(batch_op.f('ix_approval_requests_expires_at'))

    op.drop_table('approval_requests')
    with op.batch_alter_table('instruction_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_runs_vendor_id'))
        batch_op.drop_index(batch_op.f('ix_instruction_runs_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_instruction_runs_state'))
        batch_op.drop_index(batch_op.f('ix_instruction_runs_requester_id'))
        batch_op.drop_index(batch_op.f('ix_instruction_runs_next_poll_at'))
        batch_op.drop_index(batch_op.f('ix_instruction_runs_definition_name'))
        batch_op.drop_index(batch_op.f('ix_instruction_runs_created_at'))

    op.drop_table('instruction_runs')
    with op.batch_alter_table('instruction_definitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_definitions_tenant_id'))

    op.drop_table('instruction_definitions')
