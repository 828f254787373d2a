"""PostgreSQL's pool: a connection that sat idle is pinged before use, and one the server dropped
meanwhile is replaced, so a database restart costs no command (storage/db.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import create_engine, unpinged

pytestmark = pytest.mark.postgres


async def _pooled_then_killed(url: str, ping_idle: float) -> tuple[object, int]:
    """An engine whose one pooled connection the server has since terminated."""
    engine = create_engine(url, ping_idle=ping_idle, pool_size=1, max_overflow=0)
    async with engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    killer = create_engine(url)
    async with killer.connect() as conn:
        assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await killer.dispose()
    return engine, int(pid)


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(pg_url: str) -> None:
    engine, killed = await _pooled_then_killed(pg_url, ping_idle=0.0)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != killed
    finally:
        await engine.dispose()


async def test_an_idle_connection_that_is_alive_is_kept_after_its_ping(pg_url: str) -> None:
    engine = create_engine(pg_url, ping_idle=0.0, pool_size=1, max_overflow=0)
    try:
        pids = []
        for _ in range(3):
            async with engine.connect() as conn:
                pids.append(await conn.scalar(text("SELECT pg_backend_pid()")))
        assert len(set(pids)) == 1, pids  # a ping that failed would have replaced it each time
    finally:
        await engine.dispose()


async def test_a_connection_used_moments_ago_is_not_pinged(pg_url: str) -> None:
    # The same drop within the idle window reaches the work: no ping was spent on it.
    engine, _ = await _pooled_then_killed(pg_url, ping_idle=3600.0)
    try:
        with pytest.raises(DBAPIError):
            async with engine.connect() as conn:
                await conn.scalar(text("SELECT 1"))
        async with engine.connect() as conn:  # and the pool has already replaced it
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_unpinged_work_meets_the_dead_connection_and_the_pool_is_renewed(pg_url: str) -> None:
    # A heartbeat's way (storage/heartbeats.py): no ping however idle; its failure is the probe.
    engine, killed = await _pooled_then_killed(pg_url, ping_idle=0.0)
    try:
        with pytest.raises(DBAPIError), unpinged():
            async with engine.connect() as conn:
                await conn.scalar(text("SELECT 1"))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != killed
    finally:
        await engine.dispose()
