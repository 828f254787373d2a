"""Worker heartbeats, and the listener's readiness over them.

Every worker process (a child of `deskhand serve` or a standalone `deskhand worker`) refreshes
its row in `worker_heartbeats` every DESKHAND_WORKER_HEARTBEAT seconds while its inbox consumer
runs. A listener that leaves its requests to workers is ready only while some worker has
reported within DESKHAND_WORKER_STALE_AFTER seconds: otherwise what it acks would wait in the
inbox with nobody to run it, and `/readyz` says so (bot/web.py). The rows live in the database,
not in a pipe to the parent, because the inbox is shared: a worker of another replica, or a
standalone one, takes this listener's requests as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.tasks import Tasks
from storage.base import utcnow
from storage.heartbeats import HeartbeatStore

log = logging.getLogger("deskhand.heartbeat")
Clock = Callable[[], datetime]
FORGET_AFTER = timedelta(days=1)  # rows of workers that never said goodbye (killed, host gone)

NONE_YET = "no worker process has reported yet"
STALE = "no worker process has reported in the last {limit} s (the last report was {age} s ago)"


def stale(newest: datetime | None, now: datetime, limit: timedelta) -> str | None:
    """Why the listener is not ready (no worker reported within `limit`), or None."""
    if newest is None:
        return NONE_YET
    age = now - newest
    if age <= limit:
        return None
    return STALE.format(limit=round(limit.total_seconds()), age=round(age.total_seconds()))


class Heartbeat:
    """A worker's side: a beat now, then every `every` seconds; its row goes at a clean stop."""

    def __init__(self, store: HeartbeatStore, replica: str, every: float,
                 clock: Clock = utcnow) -> None:
        self.store = store
        self.replica = replica
        self.every = every
        self.clock = clock
        self.pid = os.getpid()
        self.worker = f"{os.uname().nodename}:{self.pid}"
        self.started = clock()
        self._loop = Tasks("heartbeat", log)

    def start(self) -> None:
        self._loop.spawn(self._beat_forever(), name="heartbeat")

    async def stop(self) -> None:
        await self._loop.stop(0)
        try:
            await self.store.forget(self.worker)
        except Exception as exc:  # the row ages out; readiness only looks at recent beats
            log.warning("heartbeat: could not remove this worker's row: %s", type(exc).__name__)

    async def beat(self) -> None:
        await self.store.beat(self.worker, self.replica, self.pid, self.started, self.clock())

    async def _beat_forever(self) -> None:
        with contextlib.suppress(Exception):
            await self.store.forget_before(self.clock() - FORGET_AFTER)
        failing = False
        while True:
            try:
                await self.beat()
            except Exception as exc:  # the database is unreachable: say so once, keep trying
                if not failing:
                    log.warning("heartbeat: could not report (%s); listeners will show no worker "
                                "once it lasts", type(exc).__name__)
                failing = True
            else:
                if failing:
                    log.info("heartbeat: reporting again")
                failing = False
            await asyncio.sleep(self.every)


class Liveness:
    """The listener's side: whether some worker reported within `stale_after`."""

    def __init__(self, store: HeartbeatStore, stale_after: float, clock: Clock = utcnow) -> None:
        self.store = store
        self.limit = timedelta(seconds=stale_after)
        self.clock = clock

    async def problem(self) -> str | None:
        """Why the work is not being picked up, or None while a worker reports."""
        return stale(await self.store.newest(), self.clock(), self.limit)

    async def age(self) -> float:
        """Seconds since a worker last reported (infinite when none has)."""
        newest = await self.store.newest()
        return (self.clock() - newest).total_seconds() if newest else float("inf")
