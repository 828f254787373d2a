"""Starting and cancelling instruction runs. Issuing and polling belong to the driver."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import handlers.instructions.states as states
from bot import approvals, places
from bot.card_copies import post_copy, refresh
from bot.context import Context
from bot.errors import Conflict, Denied, NotFound, UserError
from bot.model import ReplyTarget
from bot.tenant_settings import ApprovalSettings
from handlers.instructions.cards import RUN, run_card
from handlers.instructions.catalogue import definition
from handlers.instructions.config import InstructionSettings
from handlers.instructions.driver import driver
from handlers.instructions.states import RUNS
from handlers.instructions.vendor import require_tachyon
from integrations.http import VendorError
from storage.instructions import InstructionDefinitionRow, InstructionRun, InstructionRunRepo


@dataclass(frozen=True)
class Target:
    name: str
    fqdn: str
    group: str | None


async def start(ctx: Context, row: InstructionDefinitionRow, params: dict[str, str],
                targets: list[Target], label: str, incident: str | None,
                reply_to: ReplyTarget, *, group: str | None = None,
                scope: dict[str, Any] | None = None) -> InstructionRun:
    """Store the run (and its approval request), post its cards, and hand it to the driver."""
    rt, actor = ctx.runtime, ctx.actor
    async with rt.db.uow() as uow:
        settings = await InstructionSettings.read(uow, ctx.tenant_id)
        approval = await ApprovalSettings.read(uow, ctx.tenant_id)
        needs = row.kind == "action" and (approval.enable_approval or row.approval_required)
        run = await uow.repo(InstructionRunRepo).add(InstructionRun(
            tenant_id=ctx.tenant_id, state=states.AWAITING if needs else states.REQUESTED,
            definition_name=row.name, definition_vendor_id=row.vendor_id, kind=row.kind,
            instruction_set=row.instruction_set,
            readable_payload=definition(row).readable(params)[:1000], parameters=params,
            columns=list(row.columns or []), target_label=label[:300], target_count=len(targets),
            target_group=group, vendor_scope=scope,
            incident=incident, requester_id=actor.principal.id, requester_email=actor.principal.email,
            approval_required=needs, gather_minutes=settings.gather_data_minutes,
            keep_minutes=settings.keep_answers_minutes, reply_to=places.stored(reply_to, actor),
            correlation_id=ctx.correlation_id))
        await uow.repo(InstructionRunRepo).add_targets(run.id, [asdict(t) for t in targets])
        request = None
        if needs:
            request = await approvals.open_request(
                uow, ctx.tenant_id, RUN, run.id, f"{row.name} on {label}", actor,
                approval.approval_expiry_minutes)
        await uow.commit()
    ctx.target = label[:300]
    ctx.audit_params.update(run=run.id, instruction=row.name, targets=len(targets))
    # The console is one shared room, so the requester's own copy is private there.
    private = actor if reply_to.platform == "console" else None
    await post_copy(rt, run.tenant_id, RUN, run.id, "requester", ctx.messenger, reply_to,
                    run_card(run, request, "requester"), private)
    if request is None:
        driver(rt).kick(run.id, run.tenant_id)
    else:
        await approvals.announce(ctx, request, approval, reply_to)
    return run


async def code_accepted(ctx: Context, run: InstructionRun) -> None:
    """1E took the 2FA code: clear the card's request for it and poll again at once."""
    async with ctx.runtime.db.uow() as uow:
        await RUNS.move(uow, run.tenant_id, run.id, states.IN_FLIGHT, vendor_status=None,
                        last_error="", next_poll_at=None)
        await uow.commit()
    await refresh(ctx.runtime, run.tenant_id, RUN, run.id, ("requester",))
    driver(ctx.runtime).kick(run.id, run.tenant_id)


async def load(ctx: Context, run_id: int) -> InstructionRun:
    async with ctx.runtime.db.uow() as uow:
        run = await uow.repo(InstructionRunRepo).get(ctx.tenant_id, run_id)
    if run is None:
        raise NotFound(f"There is no run {run_id}. `history mine` lists your runs.", title="Unknown run")
    ctx.target = run.target_label
    ctx.audit_params["run"] = run.id
    return run


def require_requester(ctx: Context, run: InstructionRun, what: str) -> None:
    """Only the requester or an administrator may `what` (e.g. "cancel it")."""
    if run.requester_id != ctx.actor.principal.id and not ctx.decide("rbac.admin").allowed:
        raise Denied(f"Only {run.requester_email}, who asked for run {run.id}, or an administrator "
                     f"may {what}.")


async def cancel(ctx: Context, run_id: int) -> InstructionRun:
    """The requester or an administrator stops a run at whatever stage it is."""
    run = await load(ctx, run_id)
    who = ctx.actor.principal.email
    require_requester(ctx, run, "cancel it")
    if run.state in states.FINISHED:
        raise Conflict(f"Run {run.id} has already ended ({states.LABELS[run.state]}).")
    now = datetime.now(UTC)
    if run.state in (states.AWAITING, *states.TO_ISSUE):
        async with ctx.runtime.db.uow() as uow:
            moved = await RUNS.move(uow, run.tenant_id, run.id, (states.AWAITING, *states.TO_ISSUE),
                                    states.CANCELLED, finished_at=now, finished_by=who,
                                    outcome=f"Cancelled by {who}.", next_poll_at=None)
            if moved:
                await approvals.withdraw(uow, run.tenant_id, RUN, run.id, ctx.actor)
            await uow.commit()
        if not moved:
            raise Conflict("The run moved on while you clicked; look at its card and try again.")
        # Were it issued meanwhile, the driver sees "cancelled" and cancels it in 1E too.
    else:
        assert run.vendor_id is not None
        try:
            client = await require_tachyon(ctx.runtime, ctx.tenant_id)
            await client.cancel(run.vendor_id, cid=ctx.correlation_id)
        except VendorError as exc:
            raise UserError(f"Run {run.id} was not cancelled. {exc.message}",
                            title="1E did not cancel") from None
        async with ctx.runtime.db.uow() as uow:
            await RUNS.move(uow, run.tenant_id, run.id, states.IN_FLIGHT, finished_by=who,
                            next_poll_at=now)
            await uow.commit()
        driver(ctx.runtime).kick(run.id, run.tenant_id)  # it finishes as cancelled once 1E says so
    await refresh(ctx.runtime, run.tenant_id, RUN, run.id)
    return await load(ctx, run.id)
