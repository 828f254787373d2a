"""The instruction capability's scheduled jobs, run on every replica.

Each claims its work through the rows (per-run leases, compare-and-set moves), so replicas never
take the same step twice; the catalogue sync and retention also hold a job lease.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import handlers.instructions.catalogue as catalogue
import handlers.instructions.retention as retention
from bot.capability import Job
from bot.model import new_correlation_id
from handlers.instructions.driver import TICK, driver
from handlers.instructions.vendor import NAME, tachyon

if TYPE_CHECKING:
    from bot.runtime import Runtime

POLL_SECONDS = 1.0  # due runs are looked for at most this often; each waits status_wait_seconds
# ... and at least this often while none is known to be due. A run this process drives nudges
# the tick (a listener passes it to its workers, bot/workers.WorkerPool.nudge); this bounds a
# run another replica drove until it died, or a lost nudge.
IDLE_SECONDS = 30.0
SYNC_SECONDS = 3600.0
RETENTION_SECONDS = 3600.0


async def poll(runtime: Runtime) -> datetime | None:
    return await driver(runtime).tick()


async def sync(runtime: Runtime) -> None:
    for tenant_id in await runtime.tenant_clients.tenants_with(NAME):  # each with its own 1E
        if await tachyon(runtime, tenant_id) is not None:
            await catalogue.sync(runtime, new_correlation_id(), tenant_id)


async def purge(runtime: Runtime) -> None:
    await retention.purge(runtime)


JOBS = (
    Job(TICK, POLL_SECONDS, poll, exclusive=False, idle=IDLE_SECONDS),
    Job("instructions.sync", SYNC_SECONDS, sync),
    Job("retention", RETENTION_SECONDS, purge),
)
