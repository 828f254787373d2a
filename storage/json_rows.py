"""SQLite: many rows written by ONE statement, the rows bound as one JSON parameter.

An executemany of 2,000 rows costs SQLAlchemy a pass over every parameter of every row on the
event loop's thread, and sqlite3 a bind, a step and a hand-back of the GIL for each row on
aiosqlite's thread; while the loop's thread runs Python (the next vendor page is parsed
meanwhile) each hand-back waits for it, so the write crawls. Bound as one JSON array and read
with `json_each`, a batch is one bind and one step. Values are converted by the columns' own bind
processors: what is stored is what an executemany stores. (PostgreSQL: `unnest`, storage/inventory.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement, Select, Subquery, Table, bindparam, func, select, true

ROWS = "json_rows"  # the one parameter's name


def rows_from_json(columns: Sequence[Column[Any]], name: str = "v") -> Subquery:
    """A subquery with a column per `columns` (same names) over the JSON array bound as `ROWS`,
    each row an array in that column order (`encode`)."""
    each = func.json_each(bindparam(ROWS)).table_valued("value")
    return select(*(func.json_extract(each.c.value, f"$[{i}]").label(c.name)
                    for i, c in enumerate(columns))).select_from(each).subquery(name)


def encode(columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]], dialect: Any
           ) -> dict[str, str]:
    """Rows (tuples in `columns` order) as the statement's one parameter, each value converted
    as its column's type converts it for `dialect` (datetimes to SQLite's text)."""
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


def select_rows(table: Table, keys: Sequence[str], *constants: ColumnElement[Any]) -> Select[Any]:
    """`constants` then the columns `keys` of `table` from the rows bound as `ROWS`, for an
    INSERT ... SELECT (`encode_rows`). WHERE true: SQLite's parser would read the ON of an
    ON CONFLICT after a bare FROM as a join's."""
    rows = rows_from_json([table.c[k] for k in keys])
    return select(*constants, *rows.c).select_from(rows).where(true())


def encode_rows(table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]], dialect: Any
                ) -> dict[str, str]:
    """Dict rows as `select_rows`'s one parameter."""
    return encode([table.c[k] for k in keys], [[r[k] for k in keys] for r in rows], dialect)


def insert_rows(insert: Any, keys: Sequence[str], fixed: Mapping[str, ColumnElement[Any]]) -> Any:
    """`insert` (of its dialect, for ON CONFLICT) from the rows bound as `ROWS` (columns `keys`,
    `encode_rows`), with the `fixed` values every row shares written once into the statement."""
    return insert.from_select([*fixed, *keys], select_rows(insert.table, keys, *fixed.values()))
