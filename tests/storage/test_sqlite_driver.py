"""The SQLite adapter that runs a statement in one call on aiosqlite's thread
(storage/sqlite_driver.py): results, counts, errors and transactions as the stock adapter gives
them, and one thread hop per statement, none for a commit or rollback with nothing open."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import create_engine
from tests.conftest import sqlite_url

META = MetaData()
T = Table("t", META, Column("id", Integer, primary_key=True), Column("v", String, unique=True))


@pytest.fixture(params=[False, True], ids=["threads", "inline"])
async def engine(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url(tmp_path), inline=request.param)
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    yield engine
    await engine.dispose()


async def hops(conn: AsyncConnection) -> list[Any]:
    """Every call the connection hands to aiosqlite's thread from now on, recorded."""
    raw: Any = (await conn.get_raw_connection()).driver_connection
    calls: list[Any] = []
    handed = raw._execute

    async def recorded(fn: Any, *args: Any, **kw: Any) -> Any:
        calls.append(fn)
        return await handed(fn, *args, **kw)

    raw._execute = recorded
    return calls


async def test_results_counts_and_errors_are_the_stock_adapters(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        made = await conn.execute(insert(T), {"v": "a"})
        assert made.inserted_primary_key == (1,)  # lastrowid
        many = await conn.execute(insert(T), [{"v": "b"}, {"v": "c"}])
        assert many.rowcount == 2
        changed = await conn.execute(update(T).where(T.c.id > 1).values(v=T.c.v + "!"))
        assert changed.rowcount == 2
        back = await conn.execute(update(T).where(T.c.id == 1).values(v="z").returning(T.c.v))
        assert back.all() == [("z",)]
        assert (await conn.execute(select(T.c.v).order_by(T.c.id))).scalars().all() == ["z", "b!", "c!"]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(T), {"v": "z"})


async def test_a_rollback_discards_and_a_commit_keeps(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(T), {"v": "gone"})
        await conn.rollback()
        await conn.execute(insert(T), {"v": "kept"})
        await conn.commit()
    async with engine.connect() as other:
        assert (await other.execute(select(T.c.v))).scalars().all() == ["kept"]


async def test_one_thread_hop_a_statement_and_none_with_nothing_open(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        calls = await hops(conn)
        await conn.execute(select(T.c.v))
        assert len(calls) == 1  # the stock adapter: cursor, execute, fetch, close
        await conn.commit()  # a SELECT opens no transaction in sqlite3: nothing to end
        assert len(calls) == 1
        await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
        await conn.commit()  # a write did open one: committed on the thread
        assert len(calls) == 3


async def test_inline_statements_run_on_the_loops_thread(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path), inline=True)
    threads = threading.active_count()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(META.create_all)
            await conn.execute(insert(T), [{"v": "a"}, {"v": "b"}])
        async with engine.connect() as conn:
            assert (await conn.execute(select(T.c.v))).scalars().all() == ["a", "b"]
        assert threading.active_count() == threads
    finally:
        await engine.dispose()
