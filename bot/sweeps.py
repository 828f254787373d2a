"""Sweeps: workflow rows a crash left in a passing state get settled, never stay there.

A step that calls a vendor between two moves (a session being started, being closed) leaves its
row in the passing state when the process dies in between. A capability declares, per such
workflow, which states are passing and how to settle a row found there after
`DESKHAND_STUCK_AFTER` seconds: look at the vendor where it can, move the row on by
compare-and-set (so two replicas never settle it twice), and tell the person who started it.
Rows driven under a lease (instruction runs) and requests with an expiry (approvals) are
settled by their own driver and expiry job instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.capability import Job
from bot.workflow import Workflow
from storage.base import Repo
from storage.tenants import TenantRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.workflows")
SWEEP_SECONDS = 15.0  # at most this often
SWEEP_IDLE_SECONDS = 300.0  # at least this often; in between, when a row could next be stuck


@dataclass(frozen=True)
class Sweep:
    workflow: Workflow  # its table has a `state_since` column
    states: tuple[str, ...]  # the passing states
    settle: Callable[[Runtime, Any, timedelta], Awaitable[None]]  # a row, and how long it sat


async def sweep(runtime: Runtime, *sweeps: Sweep) -> int:
    """Settle every row stuck in a passing state, in every tenant; returns how many were
    looked at."""
    now = datetime.now(UTC)
    seen = 0
    async with runtime.db.reads() as uow:  # reads only: no BEGIN and ROLLBACK on PostgreSQL
        tenants = await uow.repo(TenantRepo).ids()
    for what in sweeps:
        rows: list[Any] = []
        async with runtime.db.reads() as uow:
            for tenant in tenants:
                rows += await uow.repo(Repo).stuck(
                    what.workflow.table, tenant, what.states,
                    now - timedelta(seconds=runtime.settings.stuck_after))
        for row in rows:
            seen += 1
            try:
                await what.settle(runtime, row, now - row.state_since)
            except Exception:  # one row's trouble must not stop the others; the next sweep retries
                log.exception("%s %s: settling it after an interruption failed",
                              what.workflow.name, row.id)
    return seen


async def next_sweep(runtime: Runtime, *sweeps: Sweep) -> datetime:
    """When a row could next be stuck: its entry into a passing state plus DESKHAND_STUCK_AFTER;
    with none passing, a row entering one from now on is stuck no sooner than that from now."""
    after = timedelta(seconds=runtime.settings.stuck_after)
    due = datetime.now(UTC) + after
    async with runtime.db.reads() as uow:
        for what in sweeps:
            since = await uow.repo(Repo).first_since(what.workflow.table, what.states)
            if since is not None:
                due = min(due, since + after)
    return due


def sweep_job(name: str, *sweeps: Sweep) -> Job:
    async def run(runtime: Runtime) -> datetime:
        await sweep(runtime, *sweeps)
        return await next_sweep(runtime, *sweeps)

    return Job(name, SWEEP_SECONDS, run, idle=SWEEP_IDLE_SECONDS)
