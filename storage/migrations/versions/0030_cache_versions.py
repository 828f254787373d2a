"""cache_versions: one counter that database triggers move whenever a table a command's identity,
grants, settings or tenant depend on changes, so that every process drops what it cached of them
at its next command (storage/cache_versions.py, bot/access_cache.py)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-11 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None
# A new table and triggers that only write to it: older code runs unchanged (it caches nothing).
compatibility = "expand"

# As of this revision (storage/cache_versions.WATCHED may grow in a later migration).
TABLES = ('tenants', 'tenant_settings', 'chat_workspaces', 'mapped_platforms', 'principals',
          'chat_identities', 'directory_groups', 'group_memberships', 'roles', 'role_assignments')
OPS = ('INSERT', 'UPDATE', 'DELETE')

# At commit, once per transaction: the row is the last lock a writer takes, held for an instant.
PG_FUNCTION = '''
CREATE OR REPLACE FUNCTION deskhand_bump_cache_version() RETURNS trigger AS $$
BEGIN
  IF current_setting('deskhand.cache_bumped', true) IS DISTINCT FROM txid_current()::text THEN
    PERFORM set_config('deskhand.cache_bumped', txid_current()::text, true);
    UPDATE cache_versions SET version = version + 1 WHERE id = 1;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql
'''


def upgrade() -> None:
    op.create_table('cache_versions',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO cache_versions (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(f"CREATE CONSTRAINT TRIGGER cache_version_{table} "
                       f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                       "EXECUTE FUNCTION deskhand_bump_cache_version()")
        return
    for table in TABLES:
        for kind in OPS:
            op.execute(f"CREATE TRIGGER cache_version_{table}_{kind.lower()} AFTER {kind} "
                       f"ON {table} BEGIN UPDATE cache_versions SET version = version + 1 "
                       "WHERE id = 1; END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in TABLES:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS cache_version_{table} ON {table}")
        else:
            for kind in OPS:
                op.execute(f"DROP TRIGGER IF EXISTS cache_version_{table}_{kind.lower()}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS deskhand_bump_cache_version()")
    op.drop_table('cache_versions')
