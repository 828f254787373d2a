"""Wipes as workflow rows: asked for, confirmed by typing the device's name, approved, sent once.

confirming -> awaiting_approval -> approved -> sending -> sent | failed | unknown; a request can
also end denied, expired or cancelled. The command stores the row before it answers, so the confirmation
card's button names the row, never the device. A wipe always waits for an approver, whatever
`enable_approval` says (bot/approvals.py does four-eyes, scope, expiry and the copies).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import approvals, places
from bot.context import Context, Reply
from bot.errors import Conflict, Denied, NotFound, UserError
from bot.model import Interaction, ReplyTarget
from bot.rbac import DeviceScope
from bot.tenant_settings import ApprovalSettings
from bot.workflow import Workflow
from handlers.device_actions import texts as shared
from handlers.device_actions import wipe_texts as texts
from handlers.device_actions.endusers import check_end_user
from handlers.device_actions.flow import refuse_platform, ws1_device
from handlers.device_actions.service import workspace_one
from handlers.device_actions.wipe_cards import CONFIRM_INPUT, confirm_card, wipe_card
from integrations.workspace_one.actions import Action
from storage.device_wipes import DeviceWipe, DeviceWipeRepo
from storage.devices import Device, DeviceRepo
from storage.workflow import WorkflowCardRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

CONFIRMING, AWAITING, APPROVED, SENDING = "confirming", "awaiting_approval", "approved", "sending"
SENT, FAILED, UNKNOWN, DENIED, EXPIRED = "sent", "failed", "unknown", "denied", "expired"
CANCELLED = "cancelled"  # its requester was deactivated while it waited (bot/people.py)
WIPES = Workflow("device wipe", DeviceWipe, {
    CONFIRMING: (AWAITING, EXPIRED),
    AWAITING: (APPROVED, DENIED, EXPIRED, CANCELLED),
    APPROVED: (SENDING, FAILED),  # failed: a sweep found it unsent and its approval too old
    SENDING: (SENT, FAILED, UNKNOWN),
}, texts.LABELS)
KINDS = {Action.DEVICE_WIPE.value: Action.DEVICE_WIPE,
         Action.ENTERPRISE_WIPE.value: Action.ENTERPRISE_WIPE}
PERMISSIONS = {"wipe": "device.wipe", "enterprise-wipe": "device.enterprise_wipe"}
APPROVE = {"wipe": "device.wipe.approve", "enterprise-wipe": "device.enterprise_wipe.approve"}
SUBJECTS = {"wipe": "device.wipe", "enterprise-wipe": "device.enterprise-wipe"}  # approval kinds


def audit_params(row: DeviceWipe) -> dict[str, object]:
    return {"wipe": row.id, "device": row.device_name, "ws1_id": row.ws1_id,
            "for": row.for_email, "ticket": row.ticket}


async def request(ctx: Context, kind: str, device: Device, scope: DeviceScope,
                  email: str | None, ticket: str | None, reply_to: ReplyTarget) -> Reply:
    """Check the right and the platform, store the row (confirming), answer the typed
    confirmation card. Nothing reaches Workspace ONE but the lookup."""
    name = texts.NAMES[kind]
    await ctx.require(PERMISSIONS[kind], texts.WHAT.format(name=name.lower(), device=device.name),
                      device=scope)
    client = await workspace_one(ctx.runtime, ctx.tenant_id)
    target = await ws1_device(client, device, ctx.correlation_id)
    if target.id is None:  # found by a search that gave no id: nothing to send the wipe to
        raise NotFound(shared.NOT_MANAGED.format(device=device.name), title=shared.NOT_MANAGED_TITLE)
    refuse_platform(KINDS[kind], device.name, target)
    # The end user named with `for` is checked before anyone is asked to confirm or approve.
    await check_end_user(ctx, f"ws1.{kind}", scope, target, email, ticket)
    async with ctx.runtime.db.uow() as uow:
        row = await uow.repo(DeviceWipeRepo).add(DeviceWipe(
            tenant_id=ctx.tenant_id, state=CONFIRMING, kind=kind, device_id=device.id,
            device_name=device.name, device_group=scope.group, ws1_id=target.id,
            platform=target.platform.label if target.platform else "",
            requester_id=ctx.actor.principal.id, requester_email=ctx.actor.principal.email,
            for_email=email, ticket=ticket, reply_to=places.stored(reply_to, ctx.actor),
            correlation_id=ctx.correlation_id))
        await uow.commit()
    ctx.audit_params.update(wipe=row.id)
    await ctx.runtime.audit.record(ctx.tenant_id, "decision", f"ws1.{kind}", "requested",
                                   actor=ctx.actor, correlation_id=ctx.correlation_id,
                                   target=device.name, params=audit_params(row))
    return Reply.private(confirm_card(row))


async def load(ctx: Context, wipe_id: int) -> DeviceWipe:
    async with ctx.runtime.db.uow() as uow:
        row = await uow.repo(DeviceWipeRepo).get(ctx.tenant_id, wipe_id)
    if row is None:
        raise NotFound(texts.UNKNOWN_WIPE.format(id=wipe_id), title=texts.UNKNOWN_WIPE_TITLE)
    ctx.target = row.device_name
    ctx.audit_params["wipe"] = row.id
    return row


async def _refuse(ctx: Context, row: DeviceWipe, message: str, title: str) -> None:
    await ctx.runtime.audit.record(ctx.tenant_id, "decision", f"ws1.{row.kind}", "refused",
                                   actor=ctx.actor, correlation_id=ctx.correlation_id,
                                   target=row.device_name, params=audit_params(row), detail=message)
    raise UserError(message, title=title)


async def confirm(ctx: Context, interaction: Interaction) -> Reply:
    """The typed name matches: the row waits for approval and the approvers get their card.
    A wrong name leaves the row as it was, so the person can type it again."""
    row = await load(ctx, interaction.args[0])
    if row.requester_id != ctx.actor.principal.id:
        raise Denied(texts.NOT_YOURS.format(email=row.requester_email, id=row.id))
    if row.state != CONFIRMING:
        raise Conflict(texts.ALREADY.format(id=row.id, device=row.device_name,
                                            state=WIPES.label(row.state)), title=texts.ALREADY_TITLE)
    typed = interaction.inputs.get(CONFIRM_INPUT, "").strip()
    if not typed:
        await _refuse(ctx, row, texts.EMPTY.format(device=row.device_name), texts.MISMATCH_TITLE)
    if typed.casefold() != row.device_name.casefold():
        await _refuse(ctx, row, texts.MISMATCH.format(typed=typed[:200], device=row.device_name),
                      texts.MISMATCH_TITLE)
    now = datetime.now(UTC)
    if row.created_at < now - timedelta(minutes=texts.CONFIRM_MINUTES):
        async with ctx.runtime.db.uow() as uow:
            await WIPES.move(uow, ctx.tenant_id, row.id, CONFIRMING, EXPIRED)
            await uow.commit()
        raise UserError(texts.STALE.format(minutes=texts.CONFIRM_MINUTES, device=row.device_name,
                                           command=texts.COMMAND_VERB[row.kind]),
                        title=texts.STALE_TITLE)
    # The right is checked again: the card may be old, and grants change.
    await ctx.require(PERMISSIONS[row.kind], texts.WHAT.format(
        name=texts.NAMES[row.kind].lower(), device=row.device_name),
        device=DeviceScope(row.device_name, await current_group(ctx.runtime, row)))
    async with ctx.runtime.db.uow() as uow:
        settings = await ApprovalSettings.read(uow, ctx.tenant_id)
        moved = await WIPES.move(uow, ctx.tenant_id, row.id, CONFIRMING, AWAITING,
                                 confirmed_at=now)
        if not moved:
            await uow.rollback()
            raise Conflict(texts.ALREADY.format(id=row.id, device=row.device_name,
                                                state="confirmed meanwhile"),
                           title=texts.ALREADY_TITLE)
        summary = f"{texts.NAMES[row.kind]} {row.device_name}" + (
            f" for {row.for_email or row.ticket}" if row.for_email or row.ticket else "")
        asked = await approvals.open_request(uow, ctx.tenant_id, SUBJECTS[row.kind], row.id,
                                             summary, ctx.actor, settings.approval_expiry_minutes)
        if interaction.message is not None:  # the confirmation card becomes the requester's copy
            ref = interaction.message
            await uow.repo(WorkflowCardRepo).add(
                ctx.tenant_id, SUBJECTS[row.kind], row.id, "requester", ref.platform, ref.channel,
                ref.message_id, {k: v for k, v in ref.extra.items()
                                 if isinstance(v, str | int | float | bool | dict | list)})
        await uow.commit()
        row = await uow.repo(DeviceWipeRepo).get(ctx.tenant_id, row.id) or row
    await ctx.runtime.audit.record(ctx.tenant_id, "decision", f"ws1.{row.kind}", "confirmed",
                                   actor=ctx.actor, correlation_id=ctx.correlation_id,
                                   target=row.device_name,
                                   params={**audit_params(row), "request": asked.id})
    await approvals.announce(ctx, asked, settings, interaction.reply_to)
    card = wipe_card(row, asked, "requester")
    return Reply.update(card) if interaction.message is not None else Reply.private(card)


async def current_group(runtime: Runtime, row: DeviceWipe) -> str | None:
    """The device's management group now (it may have moved), else the one it had."""
    if row.device_id is None:
        return row.device_group
    async with runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        device = await inventory.by_id(row.tenant_id, row.device_id)
        if device is None:
            return row.device_group
        group = await inventory.group(device.management_group_id) \
            if device.management_group_id else None
    return group.name if group else None
