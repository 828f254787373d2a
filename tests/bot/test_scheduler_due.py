"""Due-time jobs (bot/scheduler.py): a job that says when it next has work sleeps until then,
within its bounds, instead of waking every few seconds to find nothing; `soon` brings it forward.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.metrics import Metrics
from bot.scheduler import Scheduler
from storage import migrate
from storage.db import Database
from tests.conftest import sqlite_url


async def test_a_due_time_job_sleeps_until_its_work_is_due(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    await migrate.upgrade(db.engine)
    scheduler = Scheduler(db, "test", Metrics())
    runs: list[float] = []
    loop = asyncio.get_running_loop()
    due: list[datetime | None] = [None]
    overdue = False  # work it cannot finish: it says it is due at once, every time

    async def job() -> datetime | None:
        runs.append(loop.time())
        return due[0] if overdue or due[0] is None or due[0] > datetime.now(UTC) else None

    scheduler.every("idle-job", 0.1, job, exclusive=False, idle=30)
    scheduler.start()

    async def until(count: int) -> None:  # a loaded machine runs late, never early
        deadline = loop.time() + 10
        while len(runs) < count:
            assert loop.time() < deadline, f"{len(runs)} runs, not {count}"
            await asyncio.sleep(0.02)

    try:
        await until(1)
        await asyncio.sleep(1.0)
        assert len(runs) == 1  # nothing due: not every 0.1 s, but 30 s on
        due[0], set_at = datetime.now(UTC) + timedelta(seconds=0.6), loop.time()
        scheduler.soon("idle-job")  # new work this process knows of: run at its next 0.1 s
        await until(2)
        await until(3)  # ... which said it is due 0.6 s on: it ran then, not at the next 0.1 s
        assert runs[2] - set_at >= 0.55  # (the wall clock APScheduler uses and the loop's differ)
        await asyncio.sleep(1.0)
        assert len(runs) == 3  # then idle again
        due[0], overdue = datetime.now(UTC) - timedelta(hours=1), True
        scheduler.soon("idle-job")
        await until(7)
        gaps = [b - a for a, b in itertools.pairwise(runs[3:])]
        assert min(gaps) >= 0.09  # overdue: every `seconds`, never faster
    finally:
        await scheduler.stop()
        await db.dispose()


async def test_soon_is_passed_on_where_the_jobs_run_elsewhere(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    scheduler = Scheduler(db, "listener", Metrics())

    async def job() -> None:
        raise AssertionError("a listener with workers runs no jobs")

    scheduler.every("idle-job", 0.1, job, exclusive=False, idle=30)
    scheduler.soon("idle-job")  # never started, nowhere to pass it on: nothing happens
    passed: list[str] = []
    scheduler.elsewhere = passed.append  # `serve` with workers: WorkerPool.nudge
    scheduler.soon("idle-job")
    await asyncio.sleep(0.3)
    assert passed == ["idle-job"]
    await db.dispose()
