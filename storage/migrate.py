"""Run Alembic programmatically (`deskhand db upgrade`, the demo), and tell whether this code can
run on the database's schema: at its own newest migration, or ahead of it by migrations that
keep it working (expand-then-contract, docs/migrations.md).

Each migration script declares `compatibility`: "expand" (it only adds: whatever code ran on the
schema before still runs), "contract" (it removes what the code of its down_revision no longer
uses: that code still runs, older code does not) or "breaking" (only code that has it runs).
Code older than a migration does not have its script, so every upgrade also writes, beside
alembic_version, the oldest code that runs on the revision it reached (`schema_compat`): an old
replica reads it there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Column, MetaData, String, Table, delete, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import DatabaseUnavailable

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


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str | None:
    return scripts().get_current_head()


def known(revision: str) -> bool:
    """Whether this code has the migration (a revision it does not know is newer than it)."""
    try:
        return scripts().get_revision(revision) is not None
    except CommandError:  # alembic's "No such revision"
        return False


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
    database = MigrationContext.configure(conn).get_current_revision()
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


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate to `revision` and record which code runs on it, in one transaction; SchemaAhead
    (nothing done) when the database is at a revision this code does not have."""
    cfg = alembic_config(str(engine.url))

    def _do(connection: Connection) -> None:
        found = _read(connection)
        if found.ahead:
            raise SchemaAhead(found)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        reached = MigrationContext.configure(connection).get_current_revision()
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
