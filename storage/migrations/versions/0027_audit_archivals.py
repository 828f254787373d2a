"""audit_archivals, and audit_events' triggers let an archival (and nothing else) delete old rows

Until now the triggers refused every DELETE, so the trail could only grow. Now a DELETE of an
audit row passes only when the archival recorded last in the same transaction covers it: the
row is older than its cutoff, its id is not past the archival's last id, and it is of the
archival's tenant (or the archival is for every tenant). On PostgreSQL "the same transaction"
is the archival's `xact`, which a trigger sets to txid_current(); on SQLite, which has no
transaction id, the archival must be the connection's last insert (last_insert_rowid()), so
`deskhand audit archive` records it right before its DELETE. UPDATE stays refused for every
row; the archivals are append-only themselves; on PostgreSQL TRUNCATE, which fires no row
trigger, is refused on both tables.

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = '0027'
down_revision = '0025'
branch_labels = None
depends_on = None
compatibility = "expand"  # a new table; older code never deletes audit rows, and still cannot

_COVERED = ("a.cutoff > OLD.at AND a.last_id >= OLD.id "
            "AND (a.tenant_id IS NULL OR a.tenant_id = OLD.tenant_id)")

# asyncpg runs one statement per execute, so these go one at a time.
_PG_UP = (f'''
CREATE OR REPLACE FUNCTION deskhand_audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF EXISTS (SELECT 1 FROM audit_archivals a WHERE a.xact = txid_current() AND {_COVERED}) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
''', '''
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION deskhand_audit_append_only()
''', '''
CREATE OR REPLACE FUNCTION deskhand_audit_archivals_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.xact := txid_current();
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_archivals is append-only';
END;
$$ LANGUAGE plpgsql
''', '''
CREATE TRIGGER audit_archivals_append_only BEFORE INSERT OR UPDATE OR DELETE ON audit_archivals
  FOR EACH ROW EXECUTE FUNCTION deskhand_audit_archivals_append_only()
''', '''
CREATE TRIGGER audit_archivals_no_truncate BEFORE TRUNCATE ON audit_archivals
  FOR EACH STATEMENT EXECUTE FUNCTION deskhand_audit_archivals_append_only()
''')

_PG_DOWN = ('DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events', '''
CREATE OR REPLACE FUNCTION deskhand_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
''')

_SQLITE_UP = ('DROP TRIGGER audit_events_no_delete', f'''
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_archivals a WHERE a.id = last_insert_rowid() AND {_COVERED})
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
''', '''
CREATE TRIGGER audit_archivals_no_update BEFORE UPDATE ON audit_archivals
BEGIN SELECT RAISE(ABORT, 'audit_archivals is append-only'); END
''', '''
CREATE TRIGGER audit_archivals_no_delete BEFORE DELETE ON audit_archivals
BEGIN SELECT RAISE(ABORT, 'audit_archivals is append-only'); END
''')

_SQLITE_DOWN = ('DROP TRIGGER audit_events_no_delete', '''
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
''')


def upgrade() -> None:
    op.create_table('audit_archivals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('cutoff', storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('archived_by', sa.String(length=320), nullable=False),
    sa.Column('xact', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_UP if postgres else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_DOWN:
            op.execute(statement)
    else:
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    op.drop_table('audit_archivals')  # its own triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS deskhand_audit_archivals_append_only()")
