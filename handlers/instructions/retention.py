"""Retention: responses older than `response_keep_days`, run history older than
`history_keep_months` (their approval requests, card copies and responses go with them).
The audit trail is append-only and never touched here."""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import handlers.instructions.states as states
from handlers.instructions.cards import RUN
from handlers.instructions.config import InstructionSettings
from storage.instructions import InstructionRunRepo
from storage.tenants import TenantRepo
from storage.workflow import ApprovalRepo, WorkflowCardRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.workflows")


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def purge(runtime: Runtime, now: datetime | None = None) -> tuple[int, int]:
    """(response rows deleted, runs deleted) over every tenant, each by its own settings; only
    finished runs are ever touched."""
    now = now or datetime.now(UTC)
    async with runtime.db.uow() as uow:
        tenants = await uow.repo(TenantRepo).ids()
    done = [await _purge(runtime, tenant, now) for tenant in tenants]
    return sum(d[0] for d in done), sum(d[1] for d in done)


async def _purge(runtime: Runtime, tenant: int, now: datetime) -> tuple[int, int]:
    async with runtime.db.uow() as uow:
        settings = await InstructionSettings.read(uow, tenant)
        responses = await uow.repo(InstructionRunRepo).purge_responses(
            tenant, now - timedelta(days=settings.response_keep_days), states.FINISHED)
        gone = await uow.repo(InstructionRunRepo).purge_history(
            tenant, months_before(now, settings.history_keep_months), states.FINISHED)
        if gone:
            await uow.repo(ApprovalRepo).delete_for(RUN, gone)
            await uow.repo(WorkflowCardRepo).delete_for(RUN, gone)
        await uow.commit()
    runs = len(gone)
    if responses or runs:
        log.info("retention: deleted %d stored responses and %d old runs", responses, runs)
        await runtime.audit.record(tenant, "decision", "retention.purge", "ok",
                                   actor_label="deskhand", correlation_id=f"retention-{now:%Y%m%d%H%M}",
                                   params={"responses": responses, "runs": runs})
    return responses, runs
