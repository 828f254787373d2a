"""Writers to one SQLite file take turns through `<database>-writer` (storage/sqlite_lock.py): a
waiting writer goes as soon as the transaction before it ends, reads never wait, the turn is
given back however a transaction ends, and a writer that cannot get it fails as SQLite would."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.sqlite_lock import WriteLock, lock_path, writes
from tests.conftest import sqlite_url

META = MetaData()
T = Table("t", META, Column("id", Integer, primary_key=True), Column("v", String))


@pytest.fixture(params=[False, True], ids=["threads", "inline"])
async def engines(tmp_path: Path, request: pytest.FixtureRequest
                  ) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one file, as the listener and a worker process have: the second runs its
    statements on the event loop's thread (a worker's) or on threads of its own."""
    first = create_engine(sqlite_url(tmp_path))
    second = create_engine(sqlite_url(tmp_path), inline=request.param)
    async with first.begin() as conn:
        await conn.run_sync(META.create_all)
    yield first, second
    await first.dispose()
    await second.dispose()


def lock_file(tmp_path: Path) -> Path:
    return tmp_path / "deskhand.db-writer"


def taken(path: Path) -> bool:
    """Whether some writer holds its turn now (another open file description asks)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@contextmanager
def held(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def test_what_counts_as_a_write() -> None:
    assert writes("INSERT INTO t (v) VALUES (?)")
    assert writes("  update t SET v = ?")
    assert writes("DELETE FROM inbox WHERE id IN (SELECT value FROM json_each(?))")
    assert writes("WITH oldest AS MATERIALIZED (SELECT id FROM inbox LIMIT ?) UPDATE inbox SET x=1")
    assert writes("CREATE TABLE x (a)")
    assert not writes("SELECT count(*) FROM t")
    assert not writes("WITH a AS (SELECT 1) SELECT * FROM a")
    assert not writes("PRAGMA foreign_keys=ON")
    assert lock_path("/data/deskhand.db") == "/data/deskhand.db-writer"
    assert lock_path("file:/data/d.db?mode=rw", uri=True) == "/data/d.db-writer"
    assert lock_path(":memory:") is None
    assert lock_path("file:x?mode=memory&cache=shared", uri=True) is None


async def test_a_writer_waits_for_the_one_before_it_and_goes_when_it_commits(
        engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path) -> None:
    first, second = engines
    async with first.connect() as a:
        await a.execute(insert(T), {"v": "first"})
        assert taken(lock_file(tmp_path))  # held from the first write until the commit

        async def write() -> None:
            async with second.begin() as b:
                await b.execute(insert(T), {"v": "second"})

        waiting = asyncio.create_task(write())
        async with second.connect() as reader:  # reads do not wait for the turn
            assert (await reader.execute(select(T.c.v))).scalars().all() == []
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await a.commit()
        await asyncio.wait_for(waiting, 5)
    assert not taken(lock_file(tmp_path))
    async with first.connect() as conn:
        assert (await conn.execute(select(T.c.v).order_by(T.c.id))).scalars().all() == [
            "first", "second"]


async def test_the_turn_is_given_back_however_the_transaction_ends(
        engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path) -> None:
    first, _ = engines
    path = lock_file(tmp_path)
    async with first.connect() as conn:
        await conn.execute(insert(T), {"v": "gone"})
        await conn.rollback()
        assert not taken(path)
    async with first.connect() as conn:
        await conn.execute(insert(T), {"v": "open"})
        assert taken(path)
    assert not taken(path)  # the pool rolled it back on check-in
    autocommit = first.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as conn:
        await conn.execute(insert(T), {"v": "alone"})
        assert not taken(path)  # a statement in autocommit is its own transaction
    with pytest.raises(IntegrityError):
        async with first.begin() as conn:
            await conn.execute(insert(T), {"id": 1, "v": "clash"})
    assert not taken(path)
    await first.dispose()  # closing a connection in a transaction drops its turn too
    assert not taken(path)


def test_a_writer_that_cannot_get_its_turn_fails_as_sqlite_would(tmp_path: Path) -> None:
    db = tmp_path / "deskhand.db"
    conn = sqlite3.connect(db)
    lock = WriteLock(f"{db}-writer", timeout=0.1)
    try:
        with held(lock_file(tmp_path)), pytest.raises(sqlite3.OperationalError, match="locked"):
            lock.before(conn, "INSERT INTO t (v) VALUES (1)")
        assert not lock.held
        lock.before(conn, "INSERT INTO t (v) VALUES (1)")  # free again: taken at once
        assert lock.held
    finally:
        lock.close()
        conn.close()
    assert not taken(lock_file(tmp_path))


async def test_a_writer_that_died_holding_its_turn_holds_nothing(
        engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path) -> None:
    path = lock_file(tmp_path)
    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"), str(path),
        stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 10)).strip() == b"held"
        assert taken(path)
    finally:
        holder.kill()
        await holder.wait()
    first, _ = engines
    async with first.begin() as conn:
        await asyncio.wait_for(conn.execute(insert(T), {"v": "after"}), 5)


SLOW = text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
            "SELECT count(*) FROM c")


@pytest.mark.parametrize("where", ["between statements", "during a statement"])
async def test_a_task_cancelled_inside_its_transaction_leaves_the_turn_free(
        engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path, where: str) -> None:
    """Cancelled during a statement, SQLAlchemy throws the connection away (terminates it)."""
    first, second = engines
    inside = asyncio.Event()

    async def hold() -> None:
        async with first.connect() as conn:
            await conn.execute(insert(T), {"v": "never"})
            inside.set()
            if where == "between statements":
                await asyncio.sleep(60)
            else:
                await conn.execute(SLOW)

    task = asyncio.create_task(hold())
    await asyncio.wait_for(inside.wait(), 5)
    await asyncio.sleep(0.05)
    assert taken(lock_file(tmp_path))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not taken(lock_file(tmp_path))
    async with second.begin() as conn:
        await asyncio.wait_for(conn.execute(insert(T), {"v": "next"}), 5)
        assert (await conn.execute(select(T.c.v))).scalars().all() == ["next"]


async def test_an_inline_writer_waits_for_its_turn_without_stalling_its_loop(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path), inline=True)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(META.create_all)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(T), {"v": "waited"})

        ticker = asyncio.create_task(tick())
        with held(lock_file(tmp_path)):  # another process's turn
            writing = asyncio.create_task(write())
            await asyncio.sleep(0.2)
            assert not writing.done()
            assert ticks >= 5  # the loop went on meanwhile
        await asyncio.wait_for(writing, 5)
        ticker.cancel()
    finally:
        await engine.dispose()
