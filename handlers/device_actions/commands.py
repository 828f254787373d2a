"""`device lock|sync|find|message <device> [for <email|incident>] [message=...]`.

Each action checks its own permission over the device's management group, looks the device up
in Workspace ONE (by serial, then name), refuses an action its platform does not take, sends it,
adds a note to the device when the tenant's `device_note_after_action` is on, and audits the
vendor call (kind "external") whatever its outcome.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.model import Command
from bot.registry import Arg, CommandSpec
from cards.model import Card, Field, Fields, Text
from cards.model import Context as Small
from handlers.common import find_device, parse_for
from handlers.device_actions import texts
from handlers.device_actions.service import workspace_one
from handlers.devices import DeviceSettings
from integrations.http import VendorError
from integrations.workspace_one.actions import Action, applies, platforms_for
from integrations.workspace_one.client import By, WorkspaceOneClient
from integrations.workspace_one.client import Command as WS1Command
from integrations.workspace_one.models import Device as WS1Device
from storage.devices import Device

MESSAGE_LIMIT = 500
PERMISSIONS = {Action.LOCK: "device.lock", Action.SYNC: "device.sync", Action.FIND: "device.find",
               Action.MESSAGE: "device.message"}


async def _ws1_device(client: WorkspaceOneClient, device: Device, cid: str) -> WS1Device:
    found = await client.device(By.SERIAL, device.serial, cid=cid) if device.serial else None
    found = found or await client.device(By.NAME, device.name, cid=cid)
    if found is None:
        raise NotFound(texts.NOT_MANAGED.format(device=device.name), title=texts.NOT_MANAGED_TITLE)
    return found


async def _send(client: WorkspaceOneClient, action: Action, target: WS1Device, message: str,
                cid: str) -> None:
    if action is Action.LOCK:
        await client.command(target, WS1Command.LOCK, cid=cid)
    elif action is Action.SYNC:
        await client.command(target, WS1Command.SYNC, cid=cid)
    elif action is Action.FIND:
        await client.find_device(target, cid=cid)
    else:
        await client.send_message(target, message, cid=cid)


async def _note(ctx: Context, client: WorkspaceOneClient, action: Action, target: WS1Device,
                purpose: str) -> str:
    """The note after a success, when the tenant wants one; what the card says about it."""
    async with ctx.runtime.db.uow() as uow:
        wanted = (await DeviceSettings.read(uow, ctx.tenant_id)).device_note_after_action
    if not wanted:
        return ""
    text = texts.NOTE.format(at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
                             verb=texts.VERBS[action], person=ctx.actor.principal.email,
                             purpose=f" for {purpose}" if purpose else "")
    try:
        await client.add_note(target, text, cid=ctx.correlation_id)
    except VendorError as exc:  # the action itself went through: say so, do not fail it
        return texts.NOTE_FAILED.format(reason=exc.message)
    return texts.NOTE_ADDED


async def run_action(ctx: Context, action: Action, cmd: Command) -> Reply:
    device, scope = await find_device(ctx, cmd.args["device"])
    verb = texts.VERBS[action]
    await ctx.require(PERMISSIONS[action], texts.WHAT.format(verb=verb.lower(), device=device.name),
                      device=scope)
    email, ticket = cmd.args.get("user-or-incident") or (None, None)
    message = cmd.args.get("message") or ""
    client = await workspace_one(ctx.runtime, ctx.tenant_id)
    params: dict[str, object] = {"device": device.name, "ws1_id": None, "for": email,
                                 "ticket": ticket}
    try:  # a lookup Workspace ONE refuses (401, 429, 5xx) is this action's failure too
        target = await _ws1_device(client, device, ctx.correlation_id)
        if not applies(action, target.platform):
            raise UserError(texts.NOT_APPLICABLE.format(
                verb=verb, device=device.name,
                platform=target.platform.label if target.platform else texts.UNKNOWN_PLATFORM,
                platforms=", ".join(p.label for p in platforms_for(action))),
                title=texts.NOT_APPLICABLE_TITLE)
        params["ws1_id"] = target.id
        await _send(client, action, target, message, ctx.correlation_id)
    except VendorError as exc:
        await ctx.runtime.audit.record(
            ctx.tenant_id, "external", f"ws1.{action.value}", "failed", actor=ctx.actor,
            correlation_id=ctx.correlation_id, target=device.name, params=params,
            detail=exc.message)
        raise
    await ctx.runtime.audit.record(
        ctx.tenant_id, "external", f"ws1.{action.value}", "ok", actor=ctx.actor,
        correlation_id=ctx.correlation_id, target=device.name, params=params)
    noted = await _note(ctx, client, action, target, email or ticket or "")
    items = [Field("Device", device.name), Field("Platform", target.platform.label
                                                  if target.platform else "-")]
    if email or ticket:
        items.append(Field("For", email or ticket or ""))
    return Reply.private(Card(texts.DONE_TITLE.format(verb=verb, device=device.name), [
        Text(texts.DONE[action.value].format(device=device.name)), Fields(tuple(items)),
        *([Small(noted)] if noted else []), Small(f"ref {ctx.correlation_id}"),
    ], tone="good"))


def parse_message(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError(texts.MESSAGE_EMPTY)
    if len(text) > MESSAGE_LIMIT:
        raise ValueError(texts.MESSAGE_TOO_LONG.format(limit=MESSAGE_LIMIT, size=len(text)))
    return text


def _spec(action: Action) -> CommandSpec:
    async def handler(ctx: Context, cmd: Command) -> Reply:
        return await run_action(ctx, action, cmd)

    args = [Arg("device", "a device name, FQDN or serial"),
            Arg("user-or-incident", "a user's email or an incident number", kind="marker",
                marker="for", required=False, convert=parse_for)]
    examples = [f"device {action.value} PC-0001", f"device {action.value} PC-0001 for INC0012345"]
    if action is Action.MESSAGE:
        args.append(Arg("message", texts.MESSAGE_HELP, kind="option", convert=parse_message))
        examples = ['device message PC-0001 message="Please restart before 5pm"',
                    'device message PC-0001 for ann@example.com message="Call the desk"']
    return CommandSpec(f"device {action.value}", texts.SUMMARIES[action.value], handler,
                       permission=PERMISSIONS[action], args=tuple(args), examples=tuple(examples))


COMMANDS = tuple(_spec(a) for a in PERMISSIONS)
