"""An instruction run as the subject of an approval request (bot/approvals.Subject).

The approver must hold instruction.approve over every device of the run and its instruction
set (over the whole group when the run goes to 1E as a management group: it may reach devices
our inventory does not list yet). Deciding moves the run awaiting_approval -> approved | denied
| expired in the request's transaction; an approved run is handed to the driver at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import handlers.instructions.states as states
from bot.approvals import APPROVED, CANCELLED, DENIED, EXPIRED
from bot.rbac import DeviceScope
from cards.model import Card
from handlers.instructions.cards import RUN, run_card
from handlers.instructions.driver import driver
from handlers.instructions.states import RUNS
from storage.instructions import InstructionRunRepo
from storage.uow import UnitOfWork
from storage.workflow import ApprovalRepo

if TYPE_CHECKING:
    from bot.context import Context
    from bot.runtime import Runtime


class RunSubject:
    kind = RUN
    approve_permission = "instruction.approve"
    when_approved = "It goes to 1E now."

    def label(self, subject_id: int) -> str:
        return f"Run {subject_id}"

    async def cards(self, runtime: Runtime, tenant_id: int,
                    subject_id: int) -> Mapping[str, Card] | None:
        async with runtime.db.uow() as uow:
            run = await uow.repo(InstructionRunRepo).get(tenant_id, subject_id)
            request = await uow.repo(ApprovalRepo).for_subject(RUN, subject_id) if run else None
        if run is None:
            return None
        return {audience: run_card(run, request, audience) for audience in ("approvers", "requester")}

    async def _needs(self, ctx: Context, subject_id: int
                     ) -> list[tuple[str, DeviceScope, str]]:
        """What deciding the run needs: instruction.approve over each of these (what, device,
        instruction set); nothing for a run that is gone."""
        async with ctx.runtime.db.uow() as uow:
            runs = uow.repo(InstructionRunRepo)
            run = await runs.get(ctx.tenant_id, subject_id)
            targets = await runs.targets(subject_id) if run else []
            groups = await runs.target_groups(ctx.tenant_id, [t["name"] for t in targets])
        if run is None:
            return []
        ctx.target = run.target_label
        ctx.audit_params["run"] = run.id
        needs = []
        if run.vendor_scope is not None and run.target_group:
            needs.append((f"{run.definition_name} on group {run.target_group}",
                          DeviceScope.whole_group(run.target_group), run.instruction_set))
        for t in targets:
            needs.append((f"{run.definition_name} on {t['name']}",
                          DeviceScope(t["name"], groups.get(t["name"].lower(), t.get("group"))),
                          run.instruction_set))
        return needs

    async def check_decider(self, ctx: Context, subject_id: int, verb: str) -> None:
        for what, scope, instruction_set in await self._needs(ctx, subject_id):
            await ctx.require("instruction.approve", f"{verb} {what}", device=scope,
                              instruction_set=instruction_set)

    async def may_decide(self, ctx: Context, subject_id: int) -> bool:
        needs = await self._needs(ctx, subject_id)
        return bool(needs) and all(
            ctx.decide("instruction.approve", scope, instruction_set).allowed
            for _, scope, instruction_set in needs)

    async def decided(self, uow: UnitOfWork, tenant_id: int, subject_id: int, outcome: str,
                      by: str, reason: str) -> bool:
        now = datetime.now(UTC)
        if outcome == APPROVED:
            return await RUNS.move(uow, tenant_id, subject_id, states.AWAITING, states.APPROVED,
                                   approved_at=now, next_poll_at=None)
        if outcome == DENIED:
            return await RUNS.move(uow, tenant_id, subject_id, states.AWAITING, states.DENIED,
                                   finished_at=now, finished_by=by,
                                   outcome=f"Denied by {by}" + (f": {reason}" if reason else "."))
        if outcome == EXPIRED:
            return await RUNS.move(uow, tenant_id, subject_id, states.AWAITING, states.EXPIRED,
                                   next_poll_at=None, finished_at=now, outcome=reason)
        if outcome == CANCELLED:  # its requester was deactivated (bot/people.py)
            return await RUNS.move(uow, tenant_id, subject_id, states.AWAITING, states.CANCELLED,
                                   next_poll_at=None, finished_at=now, finished_by=by,
                                   outcome=reason)
        raise ValueError(f"a run's approval does not end as {outcome!r}")

    async def after(self, runtime: Runtime, tenant_id: int, subject_id: int, outcome: str) -> None:
        if outcome == APPROVED:
            driver(runtime).kick(subject_id, tenant_id)

    async def place(self, runtime: Runtime, tenant_id: int,
                    subject_id: int) -> dict[str, Any] | None:
        async with runtime.db.uow() as uow:
            run = await uow.repo(InstructionRunRepo).get(tenant_id, subject_id)
        return run.reply_to if run else None
