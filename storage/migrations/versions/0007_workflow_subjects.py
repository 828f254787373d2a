"""approval requests and card copies refer to a subject (kind, id), not to an instruction run

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "breaking"  # drops run_id, which the code before uses

RUN = "instruction.run"


def upgrade() -> None:
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.String(length=300), nullable=True))
    op.execute(sa.text(
        "UPDATE approval_requests SET subject_kind = :kind, subject_id = run_id, summary = "
        "(SELECT substr(r.definition_name || ' on ' || r.target_label, 1, 300) "
        " FROM instruction_runs r WHERE r.id = approval_requests.run_id)"
    ).bindparams(kind=RUN))
    op.execute(sa.text("UPDATE approval_requests SET summary = '' WHERE summary IS NULL"))
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.alter_column('subject_kind', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('summary', existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column('run_id')  # its foreign key and unique constraint go with it
        batch_op.create_unique_constraint('uq_approval_requests_subject',
                                          ['subject_kind', 'subject_id'])

    with op.batch_alter_table('workflow_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE workflow_cards SET subject_kind = :kind, subject_id = run_id")
               .bindparams(kind=RUN))
    with op.batch_alter_table('workflow_cards', schema=None) as batch_op:
        batch_op.alter_column('subject_kind', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_workflow_cards_run_id'))
        batch_op.drop_column('run_id')
        batch_op.create_index('ix_workflow_cards_subject', ['subject_kind', 'subject_id'],
                              unique=False)


def downgrade() -> None:
    # Rows about anything but an instruction run have no place in the old schema.
    op.execute(sa.text("DELETE FROM workflow_cards WHERE subject_kind <> :kind").bindparams(kind=RUN))
    op.execute(sa.text("DELETE FROM approval_requests WHERE subject_kind <> :kind")
               .bindparams(kind=RUN))
    with op.batch_alter_table('workflow_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_cards_subject')
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE workflow_cards SET run_id = subject_id"))
    with op.batch_alter_table('workflow_cards', schema=None) as batch_op:
        batch_op.alter_column('run_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('workflow_cards_run_id_fkey', 'instruction_runs', ['run_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_workflow_cards_run_id'), ['run_id'], unique=False)
        batch_op.drop_column('subject_id')
        batch_op.drop_column('subject_kind')
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.drop_constraint('uq_approval_requests_subject', type_='unique')
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE approval_requests SET run_id = subject_id"))
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.alter_column('run_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('approval_requests_run_id_fkey', 'instruction_runs', ['run_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint('approval_requests_run_id_key', ['run_id'])
        batch_op.drop_column('summary')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('subject_kind')
