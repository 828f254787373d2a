"""Run Alembic programmatically (`deskhand db upgrade`, the demo), and tell whether this code can
run on the database's schema: at its own newest migration, or ahead of it by migrations that
keep it working (expand-then-contract, docs/migrations.md).

Each migration script declares `compatibility`: "expand" (it only adds: whatever code ran on the
schema before still runs), "contract" (it removes what the code of its down_revision no longer
uses: that code still runs, older code does not) or "breaking" (only code that has it runs).
Code older than a migration does not have its script, so every upgrade also writes, beside
alembic_version, the oldest code that runs on the revision it reached (`schema_compat`): an old
replica reads it there.

Whether this code runs on the database is asked by every process at start and by /readyz: that
reads the scripts' `revision` and `down_revision` from their source and `alembic_version` with
one SELECT, without Alembic (its imports, Mako's with them, were ~10 MB of every process). Alembic
is imported when a migration runs (`upgrade`); tests/storage/test_schema_compat.py checks that
both read the same graph.
"""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Column, MetaData, String, Table, delete, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
COMPATIBILITY = ("expand", "contract", "breaking")
State = Literal["current", "pending", "compatible", "newer"]

# Bookkeeping like alembic_version (not app data, so outside storage.base's metadata and its
# migrations): one row per revision an upgrade reached, naming the oldest code (by its newest
# migration) that runs on it.
SCHEMA_COMPAT = Table(
    "schema_compat", MetaData(),
    Column("revision", String(32), primary_key=True),
    Column("min_code_revision", String(32), nullable=False))
BOOKKEEPING = frozenset({"alembic_version", SCHEMA_COMPAT.name})
ALEMBIC_VERSION = Table("alembic_version", MetaData(),
                        Column("version_num", String(32), primary_key=True))


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def _assigned(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == name and node.value is not None:
            return ast.literal_eval(node.value)
    raise ValueError(f"a migration script does not assign {name}")


@cache
def graph() -> dict[str, tuple[str, ...]]:
    """Each migration of this code -> the revisions it follows, read from the scripts' source
    (`revision` and `down_revision` are literals in every script Alembic writes, above its first
    function: only that header is parsed, as the whole scripts' trees cost every process ~0.7
    MiB at start)."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        header = path.read_text(encoding="utf-8").split("\ndef ", 1)[0]
        tree = ast.parse(header, str(path))
        revision, down = _assigned(tree, "revision"), _assigned(tree, "down_revision")
        if isinstance(down, (tuple, list)):  # a merge
            found[str(revision)] = tuple(str(d) for d in down)
        else:
            found[str(revision)] = () if down is None else (str(down),)
    return found


def head_revision() -> str | None:
    followed = {down for downs in graph().values() for down in downs}
    heads = sorted(set(graph()) - followed)
    if len(heads) > 1:
        raise ValueError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge them")
    return heads[0] if heads else None


def known(revision: str) -> bool:
    """Whether this code has the migration (a revision it does not know is newer than it)."""
    return revision in graph()


def database_revision(conn: Connection) -> str | None:
    """The revision `alembic_version` records; None before the first migration."""
    if not inspect(conn).has_table(ALEMBIC_VERSION.name):
        return None
    rows = conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalars().all()
    if len(rows) > 1:
        raise ValueError(f"alembic_version names {len(rows)} revisions; deskhand has one line")
    return rows[0] if rows else None


def compatibility(script: Script) -> str:
    declared = getattr(script.module, "compatibility", None)
    if declared not in COMPATIBILITY:
        raise ValueError(f"migration {script.revision} must declare compatibility = "
                         f"{' or '.join(map(repr, COMPATIBILITY))} (docs/migrations.md)")
    return str(declared)


def min_code_revision(revision: str) -> str:
    """The oldest code, named by its newest migration, that runs on the schema `revision` leaves:
    back over every "expand", one step back over a "contract", never past a "breaking"."""
    script = scripts().get_revision(revision)
    while True:
        kind, down = compatibility(script), script.down_revision
        if not isinstance(down, str) or kind == "breaking":  # the first, or a merge
            return script.revision
        if kind == "contract":
            return down
        script = scripts().get_revision(down)


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """For autogenerate: the bookkeeping tables are not part of the models' schema."""
    return not (type_ == "table" and name in BOOKKEEPING)


@dataclass(frozen=True)
class Schema:
    """The database's revision against this code's: `current`; `pending` (behind: run the
    upgrade); `compatible` (ahead, by migrations this code runs on); `newer` (ahead, it does
    not). `min_code` is, for a schema ahead, the oldest code that runs on it, if recorded."""

    database: str | None
    code: str | None
    state: State
    min_code: str | None = None

    @property
    def usable(self) -> bool:
        return self.state in ("current", "compatible")

    @property
    def ahead(self) -> bool:
        return self.state in ("compatible", "newer")


class SchemaAhead(Exception):
    """`upgrade` found a revision this code does not have: a newer release migrated the database."""

    def __init__(self, schema: Schema) -> None:
        super().__init__(f"the database is at revision {schema.database}, newer than this code")
        self.schema = schema


@asynccontextmanager
async def _connection(engine: AsyncEngine, *, begin: bool) -> AsyncIterator[AsyncConnection]:
    try:
        conn = await engine.connect()
    except Exception as exc:  # refused, unknown host, no such database or role, a bad option
        raise DatabaseUnavailable(engine.url, exc) from None
    try:
        if begin:
            async with conn.begin():
                yield conn
        else:
            yield conn
    finally:
        await conn.close()


def _read(conn: Connection) -> Schema:
    database = database_revision(conn)
    code = head_revision()
    if database == code:
        return Schema(database, code, "current")
    if database is None or known(database):
        return Schema(database, code, "pending")
    min_code = None
    if inspect(conn).has_table(SCHEMA_COMPAT.name):
        min_code = conn.execute(select(SCHEMA_COMPAT.c.min_code_revision).where(
            SCHEMA_COMPAT.c.revision == database)).scalar()
    return Schema(database, code, "compatible" if min_code and known(min_code) else "newer",
                  min_code)


async def state(engine: AsyncEngine) -> Schema:
    async with _connection(engine, begin=False) as conn:
        try:
            return await conn.run_sync(_read)
        except SQLAlchemyError as exc:  # e.g. no right to read alembic_version
            raise DatabaseUnavailable(engine.url, exc) from None


def _compat_recorded(conn: Connection, revision: str | None) -> bool:
    """Whether an upgrade recorded which code runs on `revision`."""
    if revision is None or not inspect(conn).has_table(SCHEMA_COMPAT.name):
        return False
    row = conn.execute(select(SCHEMA_COMPAT.c.revision).where(SCHEMA_COMPAT.c.revision == revision))
    return row.first() is not None


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate to `revision` and record which code runs on it, in one transaction; SchemaAhead
    (nothing done) when the database is at a revision this code does not have. A database
    already there, with its record, is left as it is without loading Alembic and the scripts."""
    def _do(connection: Connection) -> None:
        found = _read(connection)
        if found.ahead:
            raise SchemaAhead(found)
        if found.state == "current" and revision in ("head", found.database) \
                and _compat_recorded(connection, found.database):
            return
        from alembic import command

        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        reached = database_revision(connection)
        if reached is None:
            return
        SCHEMA_COMPAT.create(connection, checkfirst=True)
        connection.execute(delete(SCHEMA_COMPAT).where(SCHEMA_COMPAT.c.revision == reached))
        connection.execute(insert(SCHEMA_COMPAT).values(
            revision=reached, min_code_revision=min_code_revision(reached)))

    async with _connection(engine, begin=True) as conn:
        await conn.run_sync(_do)


async def current_revision(engine: AsyncEngine) -> str | None:
    return (await state(engine)).database


async def is_current(engine: AsyncEngine) -> bool:
    return (await state(engine)).state == "current"
