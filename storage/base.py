"""What every storage module shares: the declarative `Base` (UTC datetimes, JSON), id and time
helpers, and `Repo`, the base of the repositories (the only place that writes SQL).

Each capability keeps its tables and repositories in its own module; `load_all_tables` imports
them all when the complete metadata is needed (migrations).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    all_,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


# BigInteger on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Always UTC and tz-aware in Python, whatever the backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ValueList(TypeDecorator[list[Any]]):
    """A list of strings or integers bound as ONE parameter (`Repo.one_of`): a JSON array on
    SQLite, read back with `json_each`; an array on PostgreSQL. A list of thousands costs one
    bind instead of thousands, and one statement text whatever its length."""

    impl = String
    cache_ok = True

    def __init__(self, integers: bool = False) -> None:
        super().__init__()
        self.integers = integers

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # see upsert
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger if self.integers else String))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[Any] | None, dialect: Any) -> Any:
        return value if dialect.name == "postgresql" else json.dumps(value)


def upsert(table: Any, *, postgres: bool) -> Any:
    """An INSERT of the database's dialect, for ON CONFLICT clauses (SQLite and PostgreSQL spell
    them alike). PostgreSQL's dialect is imported only where it is used: on SQLite it would be
    ~2 MiB of every process for nothing."""
    if postgres:
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table)
    return sqlite.insert(table)


def in_list(expr: ColumnElement[Any] | QueryableAttribute[Any], listed: Any, *, postgres: bool,
            negate: bool = False) -> ColumnElement[bool]:
    """`expr IN listed` for a ValueList parameter (`Repo.one_of`; a statement built once binds a
    named one: `bindparam("groups", type_=ValueList())`)."""
    if postgres:
        return expr != all_(listed) if negate else expr == any_(listed)
    found: Select[Any] = select(literal_column("value")).select_from(func.json_each(listed))
    return expr.not_in(found) if negate else expr.in_(found)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime}


class Repo:
    """A repository: takes the unit of work's session (UnitOfWork.repo builds it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    @property
    def dialect(self) -> Any:
        return self.s.get_bind().dialect

    @property
    def postgres(self) -> bool:
        """Whether this session's database is PostgreSQL (else SQLite)."""
        return bool(self.dialect.name == "postgresql")

    def one_of(self, expr: ColumnElement[Any] | QueryableAttribute[Any], values: Collection[Any], *,
               negate: bool = False) -> ColumnElement[bool]:
        """`expr IN values` (`NOT IN` with `negate`) with the list bound as one parameter
        (`ValueList`). Both backends still search an index on `expr` for each value."""
        listed = bindparam(None, list(values), type_=ValueList(
            integers=all(isinstance(v, int) for v in values)))
        return in_list(expr, listed, postgres=self.postgres, negate=negate)

    def inline_time(self, value: datetime) -> ColumnElement[datetime]:
        """`value` written into the statement as a literal: executemany converts and binds every
        parameter of every row, so a time that is the same in all of them is cheaper inline
        (SQLAlchemy refuses literal-execute parameters with executemany)."""
        render = UTCDateTime().literal_processor(self.dialect)
        assert render is not None  # both backends render datetimes
        return literal_column(render(value), type_=UTCDateTime())

    def insert(self, table: Any) -> Any:
        """An INSERT of this database's dialect, for ON CONFLICT clauses (`upsert`)."""
        return upsert(table, postgres=self.postgres)

    async def compare_and_set(self, table: type[Base], tenant_id: int, row_id: int,
                              expected: Collection[str], values: dict[str, Any],
                              *guards: ColumnElement[bool]) -> bool:
        """Set `values` on a workflow row only while it is in one of the `expected` states, in
        this tenant (and every guard holds): False when a click, a replica or a job got there
        first. Every state change of every workflow goes through here (bot/workflow.py)."""
        columns = cast(Table, table.__table__).c
        result = await self.s.execute(update(table).where(
            columns.id == row_id, columns.tenant_id == tenant_id, columns.state.in_(list(expected)),
            *guards).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def stuck(self, table: type[Base], tenant_id: int, states: Collection[str],
                    before: datetime, limit: int = 100) -> Sequence[Any]:
        """The tenant's workflow rows that entered one of `states` before `before`."""
        columns = cast(Table, table.__table__).c
        q = (select(table).where(columns.tenant_id == tenant_id, columns.state.in_(list(states)),
                                 columns.state_since < before)
             .order_by(columns.state_since).limit(limit))
        return (await self.s.execute(q)).scalars().all()

    async def first_since(self, table: type[Base], states: Collection[str]) -> datetime | None:
        """When the earliest of every tenant's rows now in one of `states` entered it."""
        columns = cast(Table, table.__table__).c
        q = select(func.min(columns.state_since)).where(columns.state.in_(list(states)))
        return cast(datetime | None, (await self.s.execute(q)).scalar())


def load_all_tables() -> MetaData:
    """Import every module of the storage package, so `Base.metadata` holds every table."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name != "migrations":
            importlib.import_module(f"{__package__}.{module.name}")
    return Base.metadata
