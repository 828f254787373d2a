"""Worker heartbeats and the listener's staleness rule, on a clock the test moves.

The process-level behaviour (kill the worker, /readyz goes 503, a restarted one makes it ready
again) is in tests/bot/test_workers.py.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.bootstrap import load as load_settings
from bot.heartbeat import NONE_YET, Heartbeat, Liveness, stale
from bot.settings import SettingsError
from storage.db import Database
from storage.heartbeats import TABLE, HeartbeatStore

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_the_staleness_rule() -> None:
    limit = timedelta(seconds=30)
    assert stale(None, T0, limit) == NONE_YET
    assert stale(T0, T0 + timedelta(seconds=30), limit) is None  # the limit itself is recent
    assert stale(T0, T0 + timedelta(seconds=31), limit) == (
        "no worker process has reported in the last 30 s (the last report was 31 s ago)")


async def test_a_listener_is_ready_while_some_worker_reported_within_the_limit(
        database: Database) -> None:
    store = HeartbeatStore(database.engine)
    clock = Clock()
    liveness = Liveness(store, stale_after=30, clock=clock)
    assert await liveness.problem() == NONE_YET
    assert await liveness.age() == float("inf")

    first = Heartbeat(store, "replica-a", every=10, clock=clock)
    await first.beat()
    clock.now += timedelta(seconds=30)
    assert await liveness.problem() is None and await liveness.age() == 30
    clock.now += timedelta(seconds=1)  # it stopped reporting: killed, hung, or its host is gone
    assert await liveness.problem() == (
        "no worker process has reported in the last 30 s (the last report was 31 s ago)")

    other = Heartbeat(store, "replica-b", every=10, clock=clock)
    other.worker = "other-host:4242"  # a worker of another replica takes the requests as well
    await other.beat()
    assert await liveness.problem() is None
    await first.beat()  # beating again updates its row, not a second one
    async with database.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(TABLE)) == 2

    await first.stop()  # a clean stop removes its row
    await other.stop()
    assert await liveness.problem() == NONE_YET


async def test_the_heartbeat_loop_reports_at_once_and_forgets_long_dead_workers(
        database: Database) -> None:
    store = HeartbeatStore(database.engine)
    clock = Clock()
    dead = Heartbeat(store, "r", every=10, clock=lambda: T0 - timedelta(days=2))
    dead.worker = "gone:1"
    await dead.beat()
    beat = Heartbeat(store, "r", every=3600, clock=clock)
    beat.start()
    liveness = Liveness(store, stale_after=30, clock=clock)
    for _ in range(200):  # the first beat is written right after start
        if await liveness.problem() is None:
            break
        await asyncio.sleep(0.01)
    assert await liveness.problem() is None
    async with database.engine.connect() as conn:
        assert (await conn.scalars(select(TABLE.c.worker))).all() == [beat.worker]
    await beat.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DESKHAND_"):
            monkeypatch.delenv(name)


def test_heartbeat_settings_have_defaults_and_bounds(clean_env: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.worker_heartbeat, settings.worker_stale_after) == (10, 30)
    monkeypatch.setenv("DESKHAND_WORKER_HEARTBEAT", "10")
    monkeypatch.setenv("DESKHAND_WORKER_STALE_AFTER", "15")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert exc.value.lines == [
        "DESKHAND_WORKER_STALE_AFTER: must be at least twice DESKHAND_WORKER_HEARTBEAT (10 s), "
        "so one late report does not make the listener unready"]
    monkeypatch.setenv("DESKHAND_WORKER_HEARTBEAT", "0")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert exc.value.lines == [
        "DESKHAND_WORKER_HEARTBEAT: Input should be greater than or equal to 1"]
