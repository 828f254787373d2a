"""`device <device>`: the device card, with a button per action this person may run on it.

A button is drawn when the person holds the action's permission over the device's management
group and the action applies to the device's platform. Buttons only carry the action's word, the
inventory device id and, on a card opened from an incident (`device.card:<id>:<incident>`), that
incident: a click goes through flow.run like `device <word> <device> for <incident>`, which
checks it all again from the database (the incident's caller too) and leaves the work note.
Actions that take a value (a message, a note, a new passcode) open a small form first: one text
box and a button that sends it (a Slack modal, inputs on the Adaptive Card in Teams, a form in
the console).
"""

from __future__ import annotations

from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Interaction
from bot.rbac import DeviceScope
from cards.model import Button, Card, Confirm, Field, Fields, Section, Text, TextInput
from cards.model import Context as Small
from handlers.common import ago, find_device
from handlers.device_actions import flow, texts
from handlers.device_actions.service import workspace_one
from handlers.device_actions.table import (
    ACTIONS,
    BY_WORD,
    PASSCODE_LENGTH,
    TEXT_LIMIT,
    DeviceAction,
)
from handlers.device_actions.wipes import PERMISSIONS as WIPE_PERMISSIONS
from integrations.workspace_one.actions import Action, applies
from integrations.workspace_one.models import Device as WS1Device
from storage.devices import Device
from storage.inventory import InventoryRepo

SOURCE_LABELS = {"1e": "1E", "teamviewer": "TeamViewer", "workspace-one": "Workspace ONE",
                 "import": "CSV import"}

READ = "device.read"


def _for(ticket: str | None) -> str:
    """The incident part a card's buttons carry on (none on a card not opened from one)."""
    return f":{ticket}" if ticket else ""


def _button(spec: DeviceAction, action: Action, device: Device, ticket: str | None) -> Button:
    tail = f"{spec.word}:{device.id}{_for(ticket)}"
    if action is spec.with_input:  # a value first: the form
        return Button(f"{texts.VERBS[action.value]}\u2026", f"device.form:{tail}", form=False)
    question = texts.CONFIRM.get(action.value)
    return Button(texts.VERBS[action.value], f"device.do:{tail}", form=False,
                  confirm=Confirm(texts.VERBS[action.value], question.format(device=device.name))
                  if question else None)


def buttons(ctx: Context, device: Device, scope: DeviceScope, target: WS1Device,
            ticket: str | None = None) -> list[Button]:
    """One button per action variant the person may run here and the platform takes; the wipes
    last, each opening its typed confirmation (wipe_commands.py). All carry `ticket` on."""
    offered = [_button(spec, action, device, ticket) for spec in ACTIONS
               if ctx.decide(spec.permission, scope).allowed
               for action in spec.variants if applies(action, target.platform)]
    offered += [Button(f"{texts.VERBS[kind]}\u2026", f"device.wipe-ask:{kind}:{device.id}{_for(ticket)}",
                       style="danger", form=False)
                for kind, permission in WIPE_PERMISSIONS.items()
                if ctx.decide(permission, scope).allowed
                and applies(Action(kind), target.platform)]
    return offered


async def device_card(ctx: Context, device: Device, scope: DeviceScope,
                      ticket: str | None = None) -> Card:
    await ctx.require(READ, f"see {device.name}", device=scope)
    client = await workspace_one(ctx.runtime, ctx.tenant_id)
    target = await flow.ws1_device(client, device, ctx.correlation_id)
    seen = f"{ago(target.last_seen)} ({target.last_seen:%Y-%m-%d %H:%M} UTC)" \
        if target.last_seen else texts.NEVER
    user = target.user_email or "-"
    if target.user_name and target.user_email:
        user = f"{target.user_email} ({target.user_name})"
    facts = Fields((
        Field("Name", device.name),
        Field("Platform", target.platform.label if target.platform else target.platform_name or "-"),
        Field("OS", target.os_version or device.os or "-"), Field("Model", target.model or "-"),
        Field("Enrolled user", user), Field("Last seen in Workspace ONE", seen),
        Field("Management group", scope.group or "-")))
    async with ctx.runtime.db.uow() as uow:
        sources = (await uow.repo(InventoryRepo).sources_of(ctx.tenant_id, [device.id])).get(
            device.id, [])
    if sources:  # the inventory sync's: who reports the device, and when each last did
        facts = Fields((*facts.items, Field("Sources", ", ".join(
            f"{SOURCE_LABELS.get(s.source, s.source)} ({ago(s.last_seen or s.seen_at)})"
            for s in sources))))
    offered = buttons(ctx, device, scope, target, ticket)
    sections: list[Section] = [facts, Text(texts.ACTIONS_HINT if offered else texts.NO_ACTIONS)]
    if ticket and offered:
        sections.append(Small(texts.FOR_TICKET.format(ticket=ticket, device=device.name)))
    sections.append(Small(f"ref {ctx.correlation_id}"))
    return Card(texts.CARD_TITLE.format(device=device.name), sections, offered)


def form_card(spec: DeviceAction, device: Device, ticket: str | None = None) -> Card:
    assert spec.input is not None and spec.with_input is not None
    limit = PASSCODE_LENGTH[1] if spec.input.secret else TEXT_LIMIT
    verb = texts.VERBS[spec.with_input.value]
    submit = _submit(spec)
    return Card(texts.FORM_TITLE.format(verb=verb, device=device.name), [
        TextInput(spec.input.name, spec.input.label, multiline=spec.input.multiline,
                  required=True, max_length=limit),
    ], [Button(submit, f"device.send:{spec.word}:{device.id}{_for(ticket)}", style="primary")])


def _submit(spec: DeviceAction) -> str:
    return texts.FORM_ADD if spec.with_input is Action.NOTE else texts.FORM_SEND


# --- the buttons ---------------------------------------------------------------------------
# Each takes an optional last part, the incident the card was opened for (older buttons have
# none). A click that acts records it as the typed command would (`incident`, `as_command`), so
# the audit trail and the incident's work note say what was done for it.

def for_incident(ctx: Context, ticket: str | None, command: str) -> None:
    if ticket:
        ctx.audit_params.update(incident=ticket, as_command=f"{command} for {ticket}")


async def card_clicked(ctx: Context, interaction: Interaction) -> Reply:
    device_id, ticket = interaction.args
    device, scope = await find_device(ctx, device_id)
    if ticket:  # only showing the card: audited, but no work note for it
        ctx.audit_params["ticket"] = ticket
    return Reply.private(await device_card(ctx, device, scope, ticket))


async def do_clicked(ctx: Context, interaction: Interaction) -> Reply:
    word, device_id, ticket = interaction.args
    device, scope = await find_device(ctx, device_id)
    for_incident(ctx, ticket, f"device {word} {device.name}")
    return await flow.run(ctx, BY_WORD[word], device, scope, value=None, email=None, ticket=ticket,
                          reply_to=interaction.reply_to, clicked=True)


async def form_clicked(ctx: Context, interaction: Interaction) -> Reply:
    word, device_id, ticket = interaction.args
    spec = BY_WORD[word]
    device, scope = await find_device(ctx, device_id)
    assert spec.with_input is not None
    await ctx.require(spec.permission, texts.WHAT.format(
        verb=texts.VERBS[spec.with_input.value].lower(), device=device.name), device=scope)
    return Reply.private(form_card(spec, device, ticket))


async def send_clicked(ctx: Context, interaction: Interaction) -> Reply:
    word, device_id, ticket = interaction.args
    spec = BY_WORD[word]
    assert spec.input is not None and spec.with_input is not None
    device, scope = await find_device(ctx, device_id)
    for_incident(ctx, ticket, f"device {word} {device.name}")
    raw = interaction.inputs.get(spec.input.name, "")
    if not raw.strip():
        raise UserError(texts.INPUT_MISSING.format(what=spec.input.label.lower(),
                                                   button=_submit(spec)))
    try:
        value = spec.input.convert(raw if spec.input.secret else raw.strip())
    except ValueError as exc:
        raise UserError(f"The {spec.input.label.lower()} was not sent: {exc}.") from None
    return await flow.run(ctx, spec, device, scope, value=value, email=None, ticket=ticket,
                          reply_to=interaction.reply_to, clicked=True)
