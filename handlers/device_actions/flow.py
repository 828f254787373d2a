"""The one path of every device action, typed or clicked.

Check the action's own permission over the device's management group, look the device up in
Workspace ONE (by serial, then name), refuse an action its platform does not take (naming the
platforms where it does), check the end user named with `for` (endusers.py), send it, audit the
vendor call (kind "external", `ws1.<action>`) whatever its outcome, and add a note to the device
when the tenant's `device_note_after_action` is on. A click on a device card's button comes here
with the same arguments as the command: the card is never trusted for any of it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.audit import REDACTED
from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.model import ReplyTarget
from bot.places import said_privately
from bot.rbac import DeviceScope
from cards.model import Card, Field, Fields, Section, Text
from cards.model import Context as Small
from handlers.device_actions import texts
from handlers.device_actions.endusers import check_end_user
from handlers.device_actions.sending import Send
from handlers.device_actions.service import workspace_one
from handlers.device_actions.table import RUNNERS, DeviceAction
from handlers.devices import DeviceSettings
from integrations.http import VendorError
from integrations.workspace_one.actions import Action, applies, platforms_for
from integrations.workspace_one.client import By, WorkspaceOneClient
from integrations.workspace_one.models import Device as WS1Device
from storage.devices import Device


async def ws1_device(client: WorkspaceOneClient, device: Device, cid: str) -> WS1Device:
    """Our inventory device as Workspace ONE knows it: by serial number, else by name."""
    found = await client.device(By.SERIAL, device.serial, cid=cid) if device.serial else None
    found = found or await client.device(By.NAME, device.name, cid=cid)
    if found is None:
        raise NotFound(texts.NOT_MANAGED.format(device=device.name), title=texts.NOT_MANAGED_TITLE)
    return found


def refuse_platform(action: Action, device: str, target: WS1Device) -> None:
    if applies(action, target.platform):
        return
    raise UserError(texts.NOT_APPLICABLE.format(
        verb=texts.VERBS[action.value], device=device,
        platform=target.platform.label if target.platform else texts.UNKNOWN_PLATFORM,
        platforms=", ".join(p.label for p in platforms_for(action))),
        title=texts.NOT_APPLICABLE_TITLE)


async def _note(ctx: Context, client: WorkspaceOneClient, action: Action, target: WS1Device,
                purpose: str, at: str) -> str:
    """The note after a success, when the tenant wants one; what the card says about it."""
    async with ctx.runtime.db.uow() as uow:
        wanted = (await DeviceSettings.read(uow, ctx.tenant_id)).device_note_after_action
    if not wanted:
        return ""
    text = texts.NOTE.format(at=at, verb=texts.VERBS[action.value],
                             person=ctx.actor.principal.email,
                             purpose=f" for {purpose}" if purpose else "")
    try:
        await client.add_note(target, text, cid=ctx.correlation_id)
    except VendorError as exc:  # the action itself went through: say so, do not fail it
        return texts.NOTE_FAILED.format(reason=exc.message)
    return texts.NOTE_ADDED


async def run(ctx: Context, spec: DeviceAction, device: Device, scope: DeviceScope, *,
              value: str | None, email: str | None, ticket: str | None, reply_to: ReplyTarget,
              clicked: bool = False) -> Reply:
    action = spec.ws1(value)
    verb = texts.VERBS[action.value]
    if spec.input is not None and spec.input.secret and value:
        ctx.audit_params[spec.input.name] = REDACTED  # the command's audit row keeps its args
        if not clicked and not said_privately(reply_to):  # typed where others read it
            raise UserError(texts.SECRET_IN_PUBLIC.format(what=spec.input.label.lower()),
                            title=texts.SECRET_IN_PUBLIC_TITLE)
    await ctx.require(spec.permission, texts.WHAT.format(verb=verb.lower(), device=device.name),
                      device=scope)
    client = await workspace_one(ctx.runtime, ctx.tenant_id)
    audit_action = f"ws1.{action.value}"
    params: dict[str, object] = {"device": device.name, "ws1_id": None, "for": email,
                                 "ticket": ticket}
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    place = None
    try:  # a lookup Workspace ONE refuses (401, 429, 5xx) is this action's failure too
        target = await ws1_device(client, device, ctx.correlation_id)
        params["ws1_id"] = target.id
        refuse_platform(action, device.name, target)
        await check_end_user(ctx, audit_action, scope, target, email, ticket)
        place = await ctx.messenger.private_place(reply_to, ctx.actor) if spec.secret else None
        if spec.secret and place is None:  # refused before the secret is even fetched
            raise UserError(texts.NOWHERE_PRIVATE, title=texts.NOWHERE_PRIVATE_TITLE)
        outcome = await RUNNERS[action](Send(client, target, value or "", ctx.correlation_id,
                                             ctx.actor.principal.email, at))
    except VendorError as exc:
        await ctx.runtime.audit.record(
            ctx.tenant_id, "external", audit_action, "failed", actor=ctx.actor,
            correlation_id=ctx.correlation_id, target=device.name, params=params,
            detail=exc.message)
        raise
    await ctx.runtime.audit.record(
        ctx.tenant_id, "external", audit_action, "ok", actor=ctx.actor,
        correlation_id=ctx.correlation_id, target=device.name, params={**params, **outcome.audit})
    noted = await _note(ctx, client, action, target, email or ticket or "", at) \
        if spec.note_after else ""
    items = [Field("Device", device.name),
             Field("Platform", target.platform.label if target.platform else "-")]
    if email or ticket:
        items.append(Field("For", email or ticket or ""))
    sections: list[Section] = [] if spec.secret else [
        Text(texts.DONE[action.value].format(device=device.name))]
    card = Card((texts.KEY_TITLE if spec.secret else texts.DONE_TITLE).format(
        verb=verb, device=device.name), [
        *sections, Fields(tuple(items)), *outcome.sections,
        *([Small(noted)] if noted else []), Small(f"ref {ctx.correlation_id}"),
    ], tone="good")
    if place is None or ctx.messenger.supports.ephemeral:
        return Reply.private(card)
    # No ephemeral messages (Teams): the secret goes to the 1:1 chat itself, never back to where
    # it was asked (a channel), and a click's answer only says where it went.
    await ctx.messenger.post(place, card)
    return Reply.private(Card(card.title, [Text(texts.KEY_SENT.format(device=device.name))])) \
        if clicked else Reply([], visibility="private")
