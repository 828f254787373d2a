"""APScheduler wiring plus database claims, so a job runs once even with many replicas."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.metrics import Metrics
from bot.tasks import Tasks
from storage.claims import ClaimRepo
from storage.db import Database

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("deskhand.scheduler")
JobFn = Callable[[], Awaitable[datetime | None]]


class Claims:
    """Cross-replica coordination through the job_claims table."""

    def __init__(self, db: Database, holder: str) -> None:
        self.db = db
        self.holder = holder

    async def once(self, job: str, key: str) -> bool:
        """True for exactly one caller ever per (job, key): claim before posting a reminder."""
        async with self.db.uow() as uow:
            won = await uow.repo(ClaimRepo).claim_once(job, key, self.holder)
            await uow.commit()
            return won

    async def lease(self, job: str, ttl: timedelta, key: str = "-", holder: str | None = None) -> bool:
        """Take or renew a time-bound lease; a dead holder's lease lapses after `ttl`. The holder
        is this process unless given: a task that must exclude its own process's other tasks
        too (two clicks at once) names itself, e.g. with `one_off()`."""
        async with self.db.uow() as uow:
            won = await uow.repo(ClaimRepo).claim_lease(job, key, holder or self.holder, ttl)
            await uow.commit()
            return won

    async def release(self, job: str, key: str = "-", holder: str | None = None) -> None:
        async with self.db.uow() as uow:
            await uow.repo(ClaimRepo).release(job, key, holder or self.holder)
            await uow.commit()

    async def prune(self, job: str, before: datetime) -> int:
        """Drop `job`'s once-only claims and lapsed leases older than `before` (ClaimRepo.prune):
        a job that claims once per period calls this, or job_claims grows by a row a period."""
        async with self.db.uow() as uow:
            gone = await uow.repo(ClaimRepo).prune(job, before)
            await uow.commit()
            return gone

    def one_off(self) -> str:
        """A holder name for one task of this process."""
        return f"{self.holder}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    def __init__(self, db: Database, holder: str, metrics: Metrics) -> None:
        self.claims = Claims(db, holder)
        self.metrics = metrics
        # APScheduler is made, and imported, at start: a listener whose worker processes run the
        # jobs never starts it (~1 MiB of every such listener). Until then the jobs wait here.
        self._aps: AsyncIOScheduler | None = None
        self._jobs: dict[str, tuple[Callable[[], Awaitable[None]], float]] = {}
        self._running = Tasks("scheduler", log)  # job runs in flight (APScheduler starts them)
        # Where this process's jobs run when not here (a listener's worker processes): `soon`
        # is passed on to them.
        self.elsewhere: Callable[[str], None] | None = None

    def every(self, name: str, seconds: float, fn: JobFn, *, exclusive: bool = True,
              idle: float | None = None) -> None:
        """Run `fn` every `seconds`; with `exclusive`, one replica at a time holds the lease.

        With `idle`, `fn` returns when it next has work and runs next then (at least `seconds`,
        at most `idle` from now; None: `idle`): a timer, not a poll, while nothing is due."""
        lease = timedelta(seconds=max((idle or seconds) * 2, 30))

        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.track(task)
            due: datetime | None = None
            try:
                if exclusive and not await self.claims.lease(name, lease):
                    self.metrics.jobs.labels(name, "skipped").inc()
                    return
                try:
                    due = await fn()
                    self.metrics.jobs.labels(name, "ok").inc()
                except Exception:
                    log.exception("job %s failed", name)
                    self.metrics.jobs.labels(name, "error").inc()
            finally:
                if idle is not None:
                    self._next(name, due, seconds, idle)

        self._jobs[name] = (run, seconds)
        if self._aps is not None:  # added after start
            self._add(name)

    def _add(self, name: str) -> None:
        assert self._aps is not None
        run, seconds = self._jobs[name]
        self._aps.add_job(run, "interval", seconds=seconds, id=name, replace_existing=True,
                          max_instances=1, coalesce=True)

    def _next(self, name: str, due: datetime | None, seconds: float, idle: float) -> None:
        now = datetime.now(UTC)
        at = now + timedelta(seconds=idle)
        if due is not None:
            at = min(max(due, now + timedelta(seconds=seconds)), at)
        if self._aps is not None:
            from apscheduler.jobstores.base import JobLookupError

            with contextlib.suppress(JobLookupError):  # stopped meanwhile
                self._aps.modify_job(name, next_run_time=at)

    def soon(self, name: str) -> None:
        """Run a due-time job at its next `seconds` instead of when it last said (new work
        this process knows of, e.g. a run the driver was handed)."""
        if self._aps is None or not self._aps.running:  # this process leaves its jobs to others
            if self.elsewhere is not None:
                self.elsewhere(name)
            return
        job = self._aps.get_job(name)
        if job is None or job.next_run_time is None:
            return
        at = datetime.now(UTC) + timedelta(seconds=job.trigger.interval.total_seconds())
        if job.next_run_time > at:
            job.modify(next_run_time=at)

    @property
    def jobs(self) -> list[str]:
        return list(self._jobs)

    def start(self) -> None:
        if self._aps is None:
            from apscheduler.schedulers.asyncio import AsyncIOScheduler

            self._aps = AsyncIOScheduler(timezone="UTC")
            for name in self._jobs:
                self._add(name)
        if not self._aps.running:
            self._aps.start()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop scheduling, then end the runs in flight while the database is still open.

        A job left running past this point would touch a disposed engine and could hang the
        event loop's shutdown.
        """
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        await self._running.stop(grace)
