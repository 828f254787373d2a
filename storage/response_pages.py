"""One page of 1E responses into `instruction_responses` as a single set-based INSERT.

The page's JSON array goes to the database as one parameter and the database reads it
(SQLite `json_each`, PostgreSQL `jsonb_array_elements`): no Python object per row and no
per-row bind processing, which made storing 10,000 rows cost more than fetching them.
The SQL reads what `ResponseRow.from_api` / `ResponseError.from_api` read, in the two casings
1E servers send (PascalCase, camelCase), and keeps the page's order (ids are the keyset).
Timestamps without a zone are UTC; unreadable or impossible ones are stored as NULL, as the
Python parser does, except that PostgreSQL raises a DataError for an impossible date that looks
right (30 February): the caller then stores that page row by row.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

_TS_PG = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_ZONED_PG = r"(Z|[+-]\d{2}(:?\d{2})?)$"


def _kind(status: str) -> str:
    """`InstructionResponse.kind` of an other response: its Status, an unknown one an error (2),
    as `integrations.tachyon.responses.Other.of` reads it."""
    return f"CASE {status} WHEN 1 THEN 1 WHEN 3 THEN 3 WHEN 4 THEN 4 ELSE 2 END"


def _sqlite(is_error: bool) -> TextClause:
    def field(name: str) -> str:
        camel = name[0].lower() + name[1:]
        return f"coalesce(json_extract(j.value, '$.{name}'), json_extract(j.value, '$.{camel}'))"

    status = f"CAST(coalesce({field('Status')}, 0) AS INTEGER)"
    kind = _kind(status) if is_error else "0"
    if is_error:
        values = (f"json_object('status', {status}, "
                  f"'error', CAST(coalesce({field('ErrorData')}, '') AS TEXT))")
    else:
        vals = ("CASE WHEN json_type(j.value, '$.Values') = 'object' THEN json_extract(j.value, '$.Values') "
                "WHEN json_type(j.value, '$.values') = 'object' THEN json_extract(j.value, '$.values') END")
        values = (f"CASE WHEN coalesce({vals}, '{{}}') <> '{{}}' THEN {vals} "
                  f"WHEN {field('Blob')} IS NOT NULL THEN json_object('Blob', {field('Blob')}) "
                  "ELSE '{}' END")
    ts = field("ResponseTimestampUtc")
    when = f"strftime('%Y-%m-%d %H:%M:%f', {ts})"
    # SQLite keeps 30 February as written; going through julianday() shows it moved, so NULL it.
    when_ok = f"{when} = strftime('%Y-%m-%d %H:%M:%f', julianday({ts}))"
    return text(
        'INSERT INTO instruction_responses (run_id, is_error, kind, fqdn, "values", responded_at) '
        f"SELECT :run_id, :is_error, {kind}, substr(CAST(coalesce({field('Fqdn')}, '') AS TEXT), 1, 255), "
        f"{values}, CASE WHEN {when_ok} THEN {when} || '000' END "
        "FROM json_each(:page) AS j WHERE j.type = 'object' ORDER BY j.key")


def _postgresql(is_error: bool) -> TextClause:
    def field(name: str) -> str:
        camel = name[0].lower() + name[1:]
        return f"coalesce(j ->> '{name}', j ->> '{camel}')"

    status = f"CASE WHEN {field('Status')} ~ '^-?\\d{{1,9}}$' THEN ({field('Status')})::int ELSE 0 END"
    kind = _kind(status) if is_error else "0"
    if is_error:
        values = f"jsonb_build_object('status', {status}, 'error', coalesce({field('ErrorData')}, ''))"
    else:
        vals = ("CASE WHEN jsonb_typeof(j -> 'Values') = 'object' THEN j -> 'Values' "
                "WHEN jsonb_typeof(j -> 'values') = 'object' THEN j -> 'values' END")
        values = (f"CASE WHEN coalesce({vals}, '{{}}'::jsonb) <> '{{}}'::jsonb THEN {vals} "
                  f"WHEN {field('Blob')} IS NOT NULL THEN jsonb_build_object('Blob', {field('Blob')}) "
                  "ELSE '{}'::jsonb END")
    ts = field("ResponseTimestampUtc")
    when = (f"CASE WHEN {ts} !~ '{_TS_PG}' THEN NULL WHEN {ts} ~ '{_ZONED_PG}' THEN ({ts})::timestamptz "
            f"ELSE ({ts})::timestamp AT TIME ZONE 'UTC' END")
    return text(
        'INSERT INTO instruction_responses (run_id, is_error, kind, fqdn, "values", responded_at) '
        f"SELECT :run_id, :is_error, {kind}, left(coalesce({field('Fqdn')}, ''), 255), ({values})::json, "
        f"{when} "
        "FROM jsonb_array_elements(CAST(:page AS jsonb)) WITH ORDINALITY AS e(j, n) "
        "WHERE jsonb_typeof(j) = 'object' ORDER BY n")


_BUILDERS = {"sqlite": _sqlite, "postgresql": _postgresql}
_CACHE: dict[tuple[str, bool], TextClause] = {}


def insert_page(dialect: str, is_error: bool) -> TextClause | None:
    """The INSERT for `dialect`, or None where only the row-by-row path exists."""
    builder = _BUILDERS.get(dialect)
    if builder is None:
        return None
    key = (dialect, is_error)
    if key not in _CACHE:
        _CACHE[key] = builder(is_error)
    return _CACHE[key]
