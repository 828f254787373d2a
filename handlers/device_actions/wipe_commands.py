"""`device wipe|enterprise-wipe <device> [for <email|incident>]`, the device card's wipe button
(`device.wipe-ask:<kind>:<device id>[:<incident>]`) and the confirmation form
(`device.wipe-confirm:<wipe id>`).

Both ways in answer the same typed-confirmation card; the rest is wipes.py.
"""

from __future__ import annotations

from bot.context import Context, Reply
from bot.model import Command, Interaction
from bot.registry import ActionSpec, Arg, CommandSpec, an_id, one_of
from handlers.common import a_ticket, find_device, parse_for
from handlers.device_actions import wipe_texts as texts
from handlers.device_actions import wipes
from handlers.device_actions.wipe_cards import CONFIRM_PREFIX

ANY_WIPE = tuple(wipes.PERMISSIONS.values())
DAMAGED = "run `device wipe <device>` again for a fresh card."


def _spec(kind: str) -> CommandSpec:
    async def handler(ctx: Context, cmd: Command) -> Reply:
        device, scope = await find_device(ctx, cmd.args["device"])
        email, ticket = cmd.args.get("user-or-incident") or (None, None)
        return await wipes.request(ctx, kind, device, scope, email, ticket, cmd.reply_to)

    verb = texts.COMMAND_VERB[kind]
    return CommandSpec(
        verb, texts.SUMMARIES[kind], handler, permission=wipes.PERMISSIONS[kind],
        args=(Arg("device", "a device name, FQDN or serial"),
              Arg("user-or-incident", "a user's email or an incident number", kind="marker",
                  marker="for", required=False, convert=parse_for)),
        examples=(f"{verb} PC-0001", f"{verb} PC-0001 for INC0012345"), menu=False)


async def ask_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """The device card's wipe button: the same confirmation card as the command (`for` the
    incident the card was opened from, if any: checked, kept on the row, noted on it)."""
    kind, device_id, ticket = interaction.args
    device, scope = await find_device(ctx, device_id)
    if ticket:
        ctx.audit_params.update(incident=ticket,
                                as_command=f"{texts.COMMAND_VERB[kind]} {device.name} for {ticket}")
    return await wipes.request(ctx, kind, device, scope, None, ticket, interaction.reply_to)


COMMANDS = tuple(_spec(kind) for kind in wipes.PERMISSIONS)
ACTIONS = (
    ActionSpec("device.wipe-ask", ask_clicked, permission=ANY_WIPE,
               params=(one_of(*wipes.PERMISSIONS), an_id, a_ticket), optional=1,
               damaged=DAMAGED),
    ActionSpec(CONFIRM_PREFIX, wipes.confirm, permission=ANY_WIPE, params=(an_id,),
               damaged=DAMAGED),
)
PERMISSIONS = (*ANY_WIPE, *wipes.APPROVE.values())
