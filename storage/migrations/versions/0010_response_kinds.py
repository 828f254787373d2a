"""1E's other responses by kind: no data, error, not implemented, too large (integrations.md 2.5)

instruction_responses.kind (0 an answer, else the Status of the other response; an unknown one
is 2, an error), the stored count of each kind on the run, and 1E's no-data and not-implemented
counts beside its error count. Rows stored before are sorted by the status they kept.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:12:22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "breaking"  # errors_stored changes meaning


def upgrade() -> None:
    with op.batch_alter_table('instruction_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_instruction_responses_kind', ['run_id', 'kind', 'id'], unique=False)

    with op.batch_alter_table('instruction_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_data_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('not_implemented_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('no_data_stored', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('not_implemented_stored', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('too_large_stored', sa.Integer(), server_default='0', nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        status = ("CASE WHEN (\"values\" ->> 'status') ~ '^-?\\d{1,9}$' "
                  "THEN (\"values\" ->> 'status')::int ELSE 0 END")
    else:
        status = "CAST(coalesce(json_extract(\"values\", '$.status'), 0) AS INTEGER)"
    op.execute(f"UPDATE instruction_responses SET kind = CASE {status} WHEN 1 THEN 1 WHEN 3 THEN 3 "
               "WHEN 4 THEN 4 ELSE 2 END WHERE is_error")

    def stored(kind: int) -> str:
        return (f"(SELECT count(*) FROM instruction_responses r WHERE r.run_id = instruction_runs.id "
                f"AND r.kind = {kind})")

    # errors_stored counted every other response; it keeps the errors only.
    op.execute(f"UPDATE instruction_runs SET no_data_stored = {stored(1)}, "
               f"not_implemented_stored = {stored(3)}, too_large_stored = {stored(4)}, "
               f"errors_stored = errors_stored - {stored(1)} - {stored(3)} - {stored(4)} "
               "WHERE EXISTS (SELECT 1 FROM instruction_responses r WHERE r.run_id = instruction_runs.id "
               "AND r.is_error)")


def downgrade() -> None:
    op.execute("UPDATE instruction_runs SET errors_stored = errors_stored + no_data_stored "
               "+ not_implemented_stored + too_large_stored")
    with op.batch_alter_table('instruction_runs', schema=None) as batch_op:
        batch_op.drop_column('too_large_stored')
        batch_op.drop_column('not_implemented_stored')
        batch_op.drop_column('no_data_stored')
        batch_op.drop_column('not_implemented_count')
        batch_op.drop_column('no_data_count')

    with op.batch_alter_table('instruction_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_instruction_responses_kind')
        batch_op.drop_column('kind')
