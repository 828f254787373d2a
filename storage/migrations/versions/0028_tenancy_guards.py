"""mapped_platforms (a chat platform on which a workspace was ever mapped: its unmapped
workspaces stay refused); chat_identities.platform_org (the Enterprise Grid org a Slack account
was seen in); directory groups unique per tenant whatever their case

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None
# A new table, a nullable column and a unique index: code before it never reads the first two,
# and it already refused group names differing only in case (it answers the index's refusal of
# a racing write as a SCIM 409 uniqueness too).
compatibility = "expand"

GROUPS_INDEX = 'uq_directory_groups_tenant_lower_name'


def upgrade() -> None:
    op.create_table('mapped_platforms',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('since', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('platform')
    )
    # A platform with a mapping now has had one.
    op.execute("INSERT INTO mapped_platforms (platform, since, by) "
               "SELECT platform, MIN(created_at), 'migration 0028' FROM chat_workspaces "
               "GROUP BY platform")
    with op.batch_alter_table('chat_identities') as batch:
        batch.add_column(sa.Column('platform_org', sa.String(length=100), nullable=True))
    # Names differing only in case could be made by two racing requests; the later of each such
    # pair is renamed (ids, members and role bindings stay) so that the index can be built.
    op.execute("UPDATE directory_groups SET display_name = "
               "SUBSTR(display_name, 1, 170) || ' (duplicate #' || CAST(id AS VARCHAR(20)) || ')' "
               "WHERE EXISTS (SELECT 1 FROM directory_groups AS d "
               "WHERE d.tenant_id = directory_groups.tenant_id AND d.id < directory_groups.id "
               "AND LOWER(d.display_name) = LOWER(directory_groups.display_name))")
    op.create_index(GROUPS_INDEX, 'directory_groups',
                    ['tenant_id', sa.text('lower(display_name)')], unique=True)


def downgrade() -> None:
    op.drop_index(GROUPS_INDEX, table_name='directory_groups')
    with op.batch_alter_table('chat_identities') as batch:
        batch.drop_column('platform_org')
    op.drop_table('mapped_platforms')
