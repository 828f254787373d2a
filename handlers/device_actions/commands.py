"""The `device` commands and buttons, made from the action table (table.py).

`device <word> <device> [for <email|incident>] [<input>=...]` per table entry, `device <device>`
for the device card, and the card's buttons: `device.card:<id>` (the card), `device.do:<word>:<id>`
(an action without input), `device.form:<word>:<id>` (the form of one with input) and
`device.send:<word>:<id>` (that form sent). `<id>` is the inventory device id; each may end with
`:<incident>` (a card opened from an incident card), which the action is then run for.
"""

from __future__ import annotations

from bot.context import Context, Reply
from bot.model import Command
from bot.registry import ActionSpec, Arg, CommandSpec, an_id, one_of
from handlers.common import a_ticket, find_device, parse_for
from handlers.device_actions import card, flow, texts
from handlers.device_actions.table import ACTIONS, PERMISSIONS, PLAIN, WITH_INPUT, DeviceAction

DEVICE = Arg("device", "a device name, FQDN or serial")
FOR = Arg("user-or-incident", "a user's email or an incident number", kind="marker", marker="for",
          required=False, convert=parse_for)


def _spec(spec: DeviceAction) -> CommandSpec:
    async def handler(ctx: Context, cmd: Command) -> Reply:
        device, scope = await find_device(ctx, cmd.args["device"])
        email, ticket = cmd.args.get("user-or-incident") or (None, None)
        value = cmd.args.get(spec.input.name) if spec.input else None
        return await flow.run(ctx, spec, device, scope, value=value, email=email, ticket=ticket,
                              reply_to=cmd.reply_to)

    args = [DEVICE, FOR]
    if spec.input is not None:
        args.append(Arg(spec.input.name, spec.input.help, kind="option",
                        required=spec.plain is None, convert=spec.input.convert))
    examples = spec.examples or (f"device {spec.word} PC-0001",
                                 f"device {spec.word} PC-0001 for INC0012345")
    # lock, sync, find and message were in Teams' command menu before the rest came: it stays.
    return CommandSpec(f"device {spec.word}", texts.SUMMARIES[spec.word], handler,
                       permission=spec.permission, args=tuple(args), examples=examples,
                       menu=spec.word in ("lock", "sync", "find", "message"))


async def card_command(ctx: Context, cmd: Command) -> Reply:
    device, scope = await find_device(ctx, cmd.args["device"])
    return Reply.private(await card.device_card(ctx, device, scope))


COMMANDS = (
    *(_spec(a) for a in ACTIONS),
    CommandSpec("device", "Show a managed device and the actions you may run on it as buttons.",
                card_command, permission="device.read", args=(DEVICE,),
                examples=("device PC-0001",), menu=False),
)
ACTIONS_SPECS = (
    ActionSpec("device.card", card.card_clicked, permission="device.read",
               params=(an_id, a_ticket), optional=1),
    ActionSpec("device.do", card.do_clicked, permission=PERMISSIONS,
               params=(one_of(*PLAIN), an_id, a_ticket), optional=1),
    ActionSpec("device.form", card.form_clicked, permission=PERMISSIONS,
               params=(one_of(*WITH_INPUT), an_id, a_ticket), optional=1),
    ActionSpec("device.send", card.send_clicked, permission=PERMISSIONS,
               params=(one_of(*WITH_INPUT), an_id, a_ticket), optional=1),
)
