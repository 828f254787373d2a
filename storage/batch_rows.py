"""Many rows written by ONE statement, on both backends: SQLite binds them as one JSON array read
with `json_each`, PostgreSQL as one array a column read with `unnest`.

SQLite: an executemany of 2,000 rows costs SQLAlchemy a pass over every parameter of every row on
the event loop's thread, and sqlite3 a bind, a step and a hand-back of the GIL for each row on
aiosqlite's thread; while the loop's thread runs Python (the next vendor page is parsed
meanwhile) each hand-back waits for it, so the write crawls. PostgreSQL: asyncpg runs an
executemany as one execution a row on the server (a plan step, an executor start and a portal
each), which costs the server more than the rows' own writes. Bound as one parameter (SQLite) or
one a column (PostgreSQL), a batch is one bind and one execution. Values are converted by the
columns' own bind processors: what is stored is what an executemany stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement, FromClause, Select, Table, bindparam, func, select, true

ROWS = "json_rows"  # SQLite: the one parameter's name


def _array(name: str) -> str:
    """PostgreSQL: the parameter holding column `name`'s values."""
    return f"a_{name}"


def rows_source(columns: Sequence[Column[Any]], *, postgres: bool, name: str = "v") -> FromClause:
    """A FROM with a column per `columns` (same names) over the rows `bind` binds."""
    if postgres:
        from sqlalchemy.dialects import postgresql  # only where used (storage.base.upsert)
        return func.unnest(*(bindparam(_array(c.name), type_=postgresql.ARRAY(c.type))
                             for c in columns)).table_valued(
            *(c.name for c in columns)).render_derived(name=name)
    each = func.json_each(bindparam(ROWS)).table_valued("value")
    return select(*(func.json_extract(each.c.value, f"$[{i}]").label(c.name)
                    for i, c in enumerate(columns))).select_from(each).subquery(name)


def bind(columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]], dialect: Any
         ) -> dict[str, Any]:
    """Rows (tuples in `columns` order) as `rows_source`'s parameters. SQLite: one JSON text,
    each value converted as its column's type converts it (datetimes to SQLite's text);
    PostgreSQL: a list a column, which the array types convert."""
    if dialect.name == "postgresql":
        return {_array(c.name): [row[i] for row in rows] for i, c in enumerate(columns)}
    converting = [(i, p) for i, c in enumerate(columns)
                  if (p := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    if converting:
        converted = []
        for row in rows:
            values = list(row)
            for i, process in converting:
                values[i] = process(values[i])
            converted.append(values)
        rows = converted
    text = orjson.dumps(rows).decode()
    # SQLite's JSON functions would cut a string at a NUL (PostgreSQL refuses one): refused too.
    if "\\u0000" in text and any("\x00" in v for row in rows for v in row if isinstance(v, str)):
        raise ValueError("a NUL character in a value written as JSON rows")
    return {ROWS: text}


def select_rows(table: Table, keys: Sequence[str], *constants: ColumnElement[Any],
                postgres: bool) -> Select[Any]:
    """`constants` then the columns `keys` of `table` from the bound rows, for an
    INSERT ... SELECT (`bind_rows`). WHERE true: SQLite's parser would read the ON of an
    ON CONFLICT after a bare FROM as a join's."""
    rows = rows_source([table.c[k] for k in keys], postgres=postgres)
    return select(*constants, *rows.c).select_from(rows).where(true())


def bind_rows(table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]], dialect: Any
              ) -> dict[str, Any]:
    """Dict rows as `select_rows`'s parameters."""
    return bind([table.c[k] for k in keys], [[r[k] for k in keys] for r in rows], dialect)


def insert_rows(insert: Any, keys: Sequence[str], fixed: Mapping[str, ColumnElement[Any]], *,
                postgres: bool) -> Any:
    """`insert` (of its dialect, for ON CONFLICT) from the bound rows (columns `keys`,
    `bind_rows`), with the `fixed` values every row shares written once into the statement."""
    return insert.from_select([*fixed, *keys], select_rows(insert.table, keys, *fixed.values(),
                                                           postgres=postgres))
