"""ids people see are never handed out twice: AUTOINCREMENT on SQLite for role assignments,
instruction runs and approval requests

SQLite gives a new row the highest id in the table plus one, so revoking the newest assignment
(or purging the newest runs) handed its id to the next row, and `#7` named three different
assignments in the audit trail. AUTOINCREMENT remembers the highest id ever used. The tables
are rebuilt with it, their rows kept, and each counter starts above every id the table or the
audit trail ever held. PostgreSQL's sequences never reuse an id: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None
# Which code runs on the schema this leaves: docs/migrations.md.
compatibility = "expand"  # rebuilds SQLite tables, same columns

# Rows whose params a person typed (a command's arguments) count only when the command
# succeeded: `cancel 99999` that found nothing names no run.
_TRUSTED = "(kind <> 'command' OR outcome = 'ok')"
_AUDITED = f"SELECT MAX(CAST({{value}} AS INTEGER)) FROM audit_events WHERE {_TRUSTED} AND {{where}}"

# Every place an id of each table was shown or recorded: (value, where) over audit_events, or
# a plain query.
FLOORS: dict[str, tuple[str, ...]] = {
    "role_assignments": (
        "SELECT MAX(id) FROM role_assignments",
        _AUDITED.format(value="substr(target, 13)", where="target LIKE 'assignment #%'"),
        _AUDITED.format(value="json_extract(params, '$.assignment')",
                        where="json_type(params, '$.assignment') = 'integer'"),
    ),
    "instruction_runs": (
        "SELECT MAX(id) FROM instruction_runs",
        "SELECT MAX(subject_id) FROM approval_requests WHERE subject_kind = 'instruction.run'",
        "SELECT MAX(subject_id) FROM workflow_cards WHERE subject_kind = 'instruction.run'",
        _AUDITED.format(value="json_extract(params, '$.run')",
                        where="json_type(params, '$.run') = 'integer'"),
        _AUDITED.format(value="substr(json_extract(params, '$.subject'), 17)",
                        where="json_extract(params, '$.subject') LIKE 'instruction.run:%'"),
    ),
    "approval_requests": (
        "SELECT MAX(id) FROM approval_requests",
        _AUDITED.format(value="json_extract(params, '$.request')",
                        where="json_type(params, '$.request') = 'integer'"),
    ),
}
# Tables whose foreign keys point at a rebuilt table (ON DELETE CASCADE): rebuilt with it.
CHILDREN = {"instruction_runs": ("instruction_run_targets", "instruction_responses")}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, queries in FLOORS.items():
        floor = max((bind.execute(sa.text(q)).scalar() or 0 for q in queries), default=0)
        _rebuild(bind, table, CHILDREN.get(table, ()))
        if floor:
            bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
            bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :n)"),
                         {"t": table, "n": floor})


def downgrade() -> None:
    # AUTOINCREMENT is kept: the older code works the same with it, and ids stay unique.
    pass


def _schema(bind: Connection, table: str) -> tuple[str, list[str]]:
    """The table's CREATE TABLE and its CREATE INDEX statements, as SQLite keeps them."""
    rows = bind.execute(sa.text(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = :t AND sql IS NOT NULL"),
        {"t": table}).all()
    return (next(sql for kind, sql in rows if kind == "table"),
            [sql for kind, sql in rows if kind == "index"])


def _renamed(create: str, table: str, new: str) -> str:
    return re.sub(rf'^CREATE TABLE "?{table}"?', f'CREATE TABLE "{new}"', create)


def _copy(bind: Connection, create: str, table: str, new: str) -> None:
    bind.execute(sa.text(create))
    bind.execute(sa.text(f'INSERT INTO "{new}" SELECT * FROM "{table}"'))


def _rebuild(bind: Connection, table: str, children: tuple[str, ...]) -> None:
    """SQLite's recipe for a table change: a new table, the rows copied, the old one dropped and
    the new one renamed. Dropping a table deletes its rows first, which would cascade into the
    rows that refer to it, so those tables are moved onto the new one before the old one goes;
    the rename then points them back at the table's name."""
    create, indexes = _schema(bind, table)
    if "AUTOINCREMENT" in create:
        return
    autoincrement, changed = re.subn(r"\bid INTEGER NOT NULL,", "id INTEGER NOT NULL PRIMARY KEY "
                                     "AUTOINCREMENT,", create)
    autoincrement, dropped = re.subn(r"\s*PRIMARY KEY \(id\),", "", autoincrement)
    if (changed, dropped) != (1, 1):
        raise RuntimeError(f"{table}: unexpected schema, not rebuilt: {create}")
    new = f"_new_{table}"
    _copy(bind, _renamed(autoincrement, table, new), table, new)
    for child in children:
        child_create, child_indexes = _schema(bind, child)
        pointed = re.sub(rf'REFERENCES "?{table}"? \(', f'REFERENCES "{new}" (', child_create)
        _copy(bind, _renamed(pointed, child, f"_new_{child}"), child, f"_new_{child}")
        bind.execute(sa.text(f'DROP TABLE "{child}"'))
        bind.execute(sa.text(f'ALTER TABLE "_new_{child}" RENAME TO "{child}"'))
        for sql in child_indexes:
            bind.execute(sa.text(sql))
    bind.execute(sa.text(f'DROP TABLE "{table}"'))
    bind.execute(sa.text(f'ALTER TABLE "{new}" RENAME TO "{table}"'))
    for sql in indexes:
        bind.execute(sa.text(sql))
