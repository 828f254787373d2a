"""Supervised background tasks: one helper to start work, wait for it, and cancel it on stop.

Every long-lived component that runs work beside the request that caused it (the inbox's
jobs, the run driver's drives, the scheduler's job runs, a platform's after-ack work) keeps a
`Tasks`. A task that fails is logged with its traceback, never left as "Task exception was
never retrieved"; stopping lets running work finish for a grace period and then cancels it, so
nothing touches the database after it is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Tasks:
    def __init__(self, name: str, log: logging.Logger | None = None) -> None:
        self.name = name
        self._log = log or logging.getLogger(f"deskhand.{name}")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, T], *,
              name: str | None = None) -> asyncio.Task[T | None] | None:
        """Run `coro` in the background (its failure is logged, its result None); None, and the
        coroutine dropped, once stopping began."""
        if self._closed:
            coro.close()
            return None
        task = asyncio.create_task(self._logged(coro), name=name)
        self.track(task)
        return task

    def track(self, task: asyncio.Task[Any]) -> None:
        """Supervise a task somebody else started (e.g. the one APScheduler runs a job in)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, coro: Coroutine[Any, Any, T]) -> T | None:
        try:
            return await coro
        except Exception:
            self._log.exception("%s: background work failed", self.name)
            return None

    async def drain(self, seconds: float) -> bool:
        """Wait until no task is left (tasks started meanwhile included); False on timeout."""
        deadline = time.monotonic() + seconds
        while self._tasks:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=left)
        return True

    async def stop(self, grace: float) -> None:
        """Start nothing new, let running work finish for `grace` seconds, cancel the rest."""
        self._closed = True
        if await self.drain(grace):
            return
        late = set(self._tasks)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
