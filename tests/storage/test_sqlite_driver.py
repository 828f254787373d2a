"""The SQLite adapter that runs a statement in one call on aiosqlite's thread
(storage/sqlite_driver.py): results, counts, errors and transactions as the stock adapter gives
them, one thread hop per statement, none for a commit or rollback with nothing open, a last
statement that commits in its own hop, and lazy commits (storage/db.py, lazy()) that skip the
fsync for themselves alone."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import commit_with_next, create_engine, lazy
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


async def test_a_last_statement_commits_in_its_own_hop(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        calls = await hops(conn)
        await conn.execute(insert(T), {"v": "first"})
        await commit_with_next(conn)
        await conn.execute(insert(T), {"v": "last"})
        async with engine.connect() as other:  # committed before the block ends
            assert (await other.execute(select(T.c.v))).scalars().all() == ["first", "last"]
    assert len(calls) == 2  # the two statements; the commit rode on the second


async def test_a_failed_last_statement_leaves_nothing_committed_or_pending(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(T), {"v": "taken"})
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(T), {"v": "undone"})
            await commit_with_next(conn)
            await conn.execute(insert(T), {"v": "taken"})  # fails: the transaction rolls back
    async with engine.connect() as conn:  # the same pooled connection: nothing left set on it
        await conn.execute(insert(T), {"v": "not kept"})
        await conn.rollback()
        assert (await conn.execute(select(T.c.v))).scalars().all() == ["taken"]


async def traced(conn: AsyncConnection) -> list[str]:
    """Every statement SQLite runs on the connection from now on, as SQLite reports it."""
    raw: Any = (await conn.get_raw_connection()).driver_connection
    statements: list[str] = []
    await raw._execute(raw._conn.set_trace_callback, statements.append)  # on its own thread
    return statements


async def test_a_lazy_commit_skips_the_sync_for_itself_alone(engine: AsyncEngine) -> None:
    async with lazy(engine).connect() as conn:
        statements = await traced(conn)
        raw = (await conn.get_raw_connection()).driver_connection
        await conn.execute(insert(T), {"v": "lazy"})
        await conn.commit()
        assert statements[0] == "PRAGMA synchronous=NORMAL"  # before its transaction began
        assert statements[-2:] == ["COMMIT", "PRAGMA synchronous=FULL"]
        del statements[:]
        await conn.execute(insert(T), {"v": "rolled back"})
        await conn.rollback()
        assert statements[-2:] == ["ROLLBACK", "PRAGMA synchronous=FULL"]
    async with engine.connect() as conn:  # the same connection, durable again
        assert (await conn.get_raw_connection()).driver_connection is raw
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
        del statements[:]
        await conn.execute(insert(T), {"v": "durable"})
        await conn.commit()
        assert "PRAGMA synchronous=NORMAL" not in statements and statements[-1] == "COMMIT"
    async with engine.connect() as other:  # what a lazy commit wrote is committed all the same
        assert (await other.execute(select(T.c.v).order_by(T.c.id))).scalars().all() == [
            "lazy", "durable"]


def test_lazy_leaves_postgresql_to_its_server() -> None:
    pg = create_engine("postgresql+asyncpg://u@127.0.0.1:1/none")
    assert lazy(pg) is pg


async def test_a_lazy_commit_that_fails_leaves_the_connection_durable(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:  # a deferred key: SQLite checks it at COMMIT, which fails
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(text("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
                                "DEFERRABLE INITIALLY DEFERRED)"))
    with pytest.raises(IntegrityError):
        async with lazy(engine).begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await conn.execute(text("INSERT INTO child VALUES (7)"))
    async with engine.connect() as conn:
        assert (await conn.get_raw_connection()).driver_connection is raw
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL again
        assert (await conn.execute(text("SELECT count(*) FROM child"))).scalar() == 0
