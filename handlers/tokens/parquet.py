"""Writing a snapshot's parquet parts with pyarrow (snapshots.py imports this on first use).

Parts of up to `rows_per_file` rows in row groups of `row_group`: few, large reads for a reader
over HTTP, and no more than a row group in memory here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from handlers.tokens.snapshots import Layout, Part
from storage.db import Database
from storage.sharing import SharingRepo, columns

ARROW = {"long": pa.int64(), "boolean": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC"),
         "string": pa.string(), "json": pa.string()}


def arrow_schema(dataset: str) -> pa.Schema:
    return pa.schema([pa.field(n, ARROW[k]) for n, k in columns(dataset)])


def _batch(dataset: str, rows: Sequence[tuple[Any, ...]]) -> pa.RecordBatch:
    kinds = columns(dataset)
    arrays = []
    for index, (_, kind) in enumerate(kinds):
        values = [r[index] for r in rows]
        if kind == "json":
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        arrays.append(pa.array(values, type=ARROW[kind]))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(dataset))


async def write_parts(db: Database, tenant_id: int, dataset: str, folder: Path,
                      layout: Layout) -> list[Part]:
    """The tenant's rows of `dataset` as parquet parts in `folder`."""
    parts: list[Part] = []
    writer: pq.ParquetWriter | None = None
    group: list[pa.RecordBatch] = []
    in_part = in_group = after = 0
    try:
        while True:
            async with db.uow() as uow:
                rows = await uow.repo(SharingRepo).batch(dataset, tenant_id, after, layout.batch)
            if group and (not rows or in_group + len(rows) > layout.row_group
                          or in_part + len(rows) > layout.rows_per_file):
                writer = writer or pq.ParquetWriter(folder / _name(len(parts)),
                                                    arrow_schema(dataset), compression="snappy")
                table = pa.Table.from_batches(group)
                await asyncio.to_thread(writer.write_table, table, row_group_size=in_group)
                group, in_group = [], 0
            if writer is not None and (not rows or in_part + len(rows) > layout.rows_per_file):
                await asyncio.to_thread(writer.close)
                writer = None
                parts.append(_part(folder, len(parts), in_part))
                in_part = 0
            if not rows:
                break
            # Building a 25,000-row batch takes tens of ms: off the event loop.
            group.append(await asyncio.to_thread(_batch, dataset, rows))
            in_group += len(rows)
            in_part += len(rows)
            after = rows[-1][0]
    finally:
        if writer is not None:
            writer.close()
    if not parts:  # an empty table is one empty part, so readers still get its schema
        pq.write_table(arrow_schema(dataset).empty_table(), folder / _name(0))
        parts.append(_part(folder, 0, 0))
    return parts


def _name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _part(folder: Path, index: int, rows: int) -> Part:
    return Part(_name(index), rows, (folder / _name(index)).stat().st_size)
