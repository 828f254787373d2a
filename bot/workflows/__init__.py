"""Instruction workflow: runs, approvals, the poller and its jobs (DESIGN.md "Workflows").

`install(runtime)` registers the jobs every replica runs; each claims work through the rows
(per-run leases, compare-and-set decisions), so replicas never take the same step twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.model import new_correlation_id
from bot.workflows import approvals, catalogue, retention, vendor
from bot.workflows.poller import driver

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.workflows")
POLL_SECONDS = 1.0  # how often due runs are looked for; each run waits status_wait_seconds
EXPIRY_SECONDS = 10.0
SYNC_SECONDS = 3600.0
RETENTION_SECONDS = 3600.0
STOP_SECONDS = 10.0  # how long stopping waits for work in flight before cancelling it


def install(runtime: Runtime) -> None:
    running: set[asyncio.Task[Any]] = set()
    stopping = asyncio.Event()

    def tracked(fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        # Stopping waits for a job in flight, and a job due after that does not start, so
        # nothing touches the database once it is closed.
        async def run() -> None:
            if stopping.is_set():
                return
            task = asyncio.current_task()
            if task is None:
                await fn()
                return
            running.add(task)
            try:
                await fn()
            finally:
                running.discard(task)
        return run

    async def poll() -> None:
        await driver(runtime).tick()

    async def expire() -> None:
        await approvals.expire_overdue(runtime)

    async def sync() -> None:
        if vendor.tachyon(runtime) is not None:
            await catalogue.sync(runtime, new_correlation_id())

    async def purge() -> None:
        await retention.purge(runtime)

    async def close() -> None:
        stopping.set()
        await driver(runtime).close()
        if running:
            _, late = await asyncio.wait(set(running), timeout=STOP_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await vendor.close(runtime)

    runtime.scheduler.every("instructions.poll", POLL_SECONDS, tracked(poll), exclusive=False)
    runtime.scheduler.every("approvals.expire", EXPIRY_SECONDS, tracked(expire), exclusive=False)
    runtime.scheduler.every("instructions.sync", SYNC_SECONDS, tracked(sync))
    runtime.scheduler.every("retention", RETENTION_SECONDS, tracked(purge))
    runtime.on_stop.append(close)
