"""Deciding and expiring approval requests.

The decision is two compare-and-sets in one transaction, the run first (awaiting_approval ->
approved | denied) and then the request (pending and unexpired -> decided), so of fifty
simultaneous clicks exactly one commits and only that one hands the run to the poller.
Rights come from the rows and the decider's grants, never from the card.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.context import Context, UserError
from bot.rbac import DeviceScope
from bot.workflows import states
from bot.workflows.cards import approval_text
from bot.workflows.delivery import refresh
from bot.workflows.poller import driver
from storage.instructions import InstructionRun, InstructionRunRepo
from storage.workflow import ApprovalRepo, ApprovalRequest

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.workflows")


async def _load(ctx: Context, request_id: int) -> tuple[ApprovalRequest, InstructionRun]:
    async with ctx.runtime.db.uow() as uow:
        request = await uow.repo(ApprovalRepo).get(ctx.tenant_id, request_id)
        run = (await uow.repo(InstructionRunRepo).get(ctx.tenant_id, request.run_id)
               if request is not None else None)
    if request is None or run is None:
        raise UserError(f"There is no approval request {request_id}.", title="Unknown request")
    ctx.target = run.target_label
    ctx.audit_params.update(run=run.id, request=request.id)
    return request, run


async def decide(ctx: Context, request_id: int, approve: bool, reason: str) -> InstructionRun:
    request, run = await _load(ctx, request_id)
    verb = "approve" if approve else "deny"
    if request.state != states.PENDING:  # the winner already redrew every copy
        raise UserError(f"Run {run.id} was already {approval_text(request)}.", title="Already decided")
    if request.expires_at <= datetime.now(UTC):
        raise UserError(f"This request expired at {request.expires_at:%Y-%m-%d %H:%M} UTC; the "
                        "requester can run it again.", title="Request expired")
    if request.requester_id == ctx.actor.principal.id:
        await ctx.runtime.audit.record(
            ctx.tenant_id, "denial", "instruction.approve", "denied", actor=ctx.actor,
            correlation_id=ctx.correlation_id, target=run.target_label,
            detail=f"four-eyes: {ctx.actor.principal.email} requested run {run.id}")
        raise UserError(f"You asked for run {run.id}, so you may not {verb} it: someone else must "
                        "decide. This holds for every chat account linked to you.", title="Not allowed")
    if run.vendor_scope is not None and run.target_group:
        # Sent as a 1E management group: it may reach devices our inventory does not list yet.
        await ctx.require("instruction.approve", f"{verb} {run.definition_name} on group {run.target_group}",
                          device=DeviceScope.whole_group(run.target_group),
                          instruction_set=run.instruction_set)
    async with ctx.runtime.db.uow() as uow:
        runs = uow.repo(InstructionRunRepo)
        targets = await runs.targets(run.id)
        groups = await runs.target_groups(ctx.tenant_id, [t["name"] for t in targets])
    for t in targets:
        scope = DeviceScope(t["name"], groups.get(t["name"].lower(), t.get("group")))
        await ctx.require("instruction.approve", f"{verb} {run.definition_name} on {t['name']}",
                          device=scope, instruction_set=run.instruction_set)
    reason = " ".join(reason.split())[:400]
    who = ctx.actor.principal.email
    now = datetime.now(UTC)
    if approve:
        run_values: dict[str, object] = {"state": states.APPROVED, "approved_at": now, "next_poll_at": None}
    else:
        run_values = {"state": states.DENIED, "finished_at": now, "finished_by": who,
                      "outcome": f"Denied by {who}" + (f": {reason}" if reason else ".")}
    async with ctx.runtime.db.uow() as uow:
        won = await uow.repo(InstructionRunRepo).transition(run.id, states.AWAITING, **run_values) and \
            await uow.repo(ApprovalRepo).decide(
                request.id, "approved" if approve else "denied", decided_by_id=ctx.actor.principal.id,
                decided_by_email=who, decided_via=str(ctx.actor.identity)[:400], reason=reason)
        if won:
            await uow.commit()
        else:
            await uow.rollback()
    if not won:
        request, run = await _load(ctx, request_id)
        raise UserError(f"Run {run.id} was decided a moment ago: {approval_text(request)}.",
                        title="Already decided")
    await ctx.runtime.audit.record(
        ctx.tenant_id, "decision", "instruction.approve", "approved" if approve else "denied",
        actor=ctx.actor, correlation_id=ctx.correlation_id, target=run.target_label,
        params={"run": run.id, "request": request.id, "instruction": run.definition_name},
        detail=reason)
    if approve:
        driver(ctx.runtime).kick(run.id)
    await refresh(ctx.runtime, run.id)
    async with ctx.runtime.db.uow() as uow:
        return await uow.repo(InstructionRunRepo).get(ctx.tenant_id, run.id) or run


async def expire_overdue(runtime: Runtime) -> int:
    """Expire pending requests past their time; their runs end as expired. Returns how many."""
    async with runtime.db.uow() as uow:
        overdue = list(await uow.repo(ApprovalRepo).overdue())
    done = 0
    for request in overdue:
        minutes = int((request.expires_at - request.created_at).total_seconds() // 60)
        async with runtime.db.uow() as uow:
            moved = await uow.repo(InstructionRunRepo).transition(
                request.run_id, states.AWAITING, state=states.EXPIRED, next_poll_at=None,
                finished_at=datetime.now(UTC),
                outcome=f"Nobody approved or denied it within {minutes} minutes.")
            expired = await uow.repo(ApprovalRepo).expire(request.id)
            await uow.commit()
        if not expired:
            continue  # decided in the meantime
        done += 1
        await runtime.audit.record(runtime.tenant_id, "decision", "instruction.approve", "expired",
                                   actor_label="deskhand", correlation_id=f"expire-{request.id}",
                                   params={"run": request.run_id, "request": request.id})
        if moved:
            await refresh(runtime, request.run_id)
    return done
