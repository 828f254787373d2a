"""`incident <number>` and `incident list [mine|open]`; the incident card's Run instruction form.

The card's Remote button belongs to the remote capability (`remote.start`), its Device actions
button to the device actions (`device.card`); the Run instruction button opens a form here whose
Run button starts the run through the instructions capability's own `run` command, `for` the
incident, so rights, targets and approvals are exactly those of `run <name> on <device> for INC`.
"""

from __future__ import annotations

from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Command, Interaction
from bot.parser import ParseError, tokenize
from bot.registry import ActionSpec, Arg, CommandSpec, an_id
from cards.model import Button, Card, Choice, ChoiceInput, Section, Text, TextInput
from cards.model import Context as Small
from handlers.common import a_ticket, find_device
from handlers.incidents import texts
from handlers.incidents.cards import RUNS, incident_card, list_card
from handlers.incidents.lookup import everything, parse_number
from handlers.incidents.service import servicenow
from handlers.instructions import catalogue
from handlers.instructions.commands import cached_catalogue, run_command

LIST_LIMIT = 25
MAX_CHOICES = 100  # Slack's static select holds at most 100 options


async def incident_command(ctx: Context, cmd: Command) -> Reply:
    found = await everything(ctx, cmd.args["number"])
    scope = None
    if found.device is not None:
        _, scope = await find_device(ctx, found.device.id)
    ctx.target = found.incident.number
    return Reply.private(incident_card(ctx, found, scope))


async def list_command(ctx: Context, cmd: Command) -> Reply:
    which = cmd.args.get("which") or "open"
    email = ctx.actor.principal.email
    client = await servicenow(ctx.runtime, ctx.tenant_id)
    rows = await client.incidents("mine" if which == "mine" else "open", assigned_to_email=email,
                                  limit=LIST_LIMIT, cid=ctx.correlation_id)
    return Reply.private(list_card(which, email, rows, ctx.correlation_id))


async def pick_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """The Run instruction form: the instructions this person may run on the device."""
    device_id, number = interaction.args
    device, scope = await find_device(ctx, device_id)
    rows = [r for r in await cached_catalogue(ctx)
            if ctx.decide(catalogue.run_permission(r.kind), scope, r.instruction_set).allowed]
    title = texts.PICK_TITLE.format(device=device.name, number=number)
    if not rows:
        return Reply.private(Card(title, [Text(texts.PICK_NONE.format(device=device.name))]))
    choices = tuple(Choice(r.name, f"{r.name} ({catalogue.parameter_text(r)})"[:75])
                    for r in rows[:MAX_CHOICES])
    sections: list[Section] = [
        Text(texts.PICK_TEXT.format(device=device.name, number=number)),
        ChoiceInput("instruction", texts.PICK_LABEL, choices, required=True),
        TextInput("parameters", texts.PARAMS_LABEL, texts.PARAMS_HINT, max_length=1000),
        Small(f"ref {ctx.correlation_id}")]
    return Reply.private(Card(title, sections, [
        Button(texts.RUN_BUTTON, f"incident.run-go:{device.id}:{number}", style="primary")]))


async def run_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """The form's Run: `run <instruction> <parameters> on <device> for <incident>`."""
    device_id, number = interaction.args
    device, _ = await find_device(ctx, device_id)
    name = (interaction.inputs.get("instruction") or "").strip()
    if not name:
        raise UserError(texts.PICK_MISSING, title="Check the form")
    typed = (interaction.inputs.get("parameters") or "").strip()
    try:
        parsed = tokenize(typed)
    except ParseError as exc:
        raise UserError(texts.PARAMS_BAD.format(problem=exc), title="Check the form") from None
    if parsed.words:
        raise UserError(texts.PARAMS_BAD.format(problem=f"`{parsed.words[0]}` has no `=`"),
                        title="Check the form")
    as_typed = " ".join(filter(None, ("run", name, typed, "on", device.name, "for", number)))
    ctx.audit_params.update(incident=number, as_command=as_typed)
    command = Command("run", {"instruction": name, "parameters": parsed.options,
                              "target": device.name, "incident": number}, as_typed,
                      ctx.actor, interaction.reply_to, ctx.correlation_id)
    return await run_command(ctx, command)


COMMANDS = (
    CommandSpec(
        "incident", "Show a ServiceNow incident: caller, device and quick actions.",
        incident_command, permission="incident.read",
        args=(Arg("number", texts.NUMBER_HELP, convert=parse_number),),
        # Teams' menu holds 10 commands, taken by group name: this one would push out `run`.
        examples=("incident INC0010023",), menu=False),
    CommandSpec(
        "incident list", "Recent ServiceNow incidents: open ones, or yours.", list_command,
        permission="incident.read",
        args=(Arg("which", "which incidents", choices=("open", "mine"), required=False),),
        examples=("incident list", "incident list mine"), menu=False),
)
DAMAGED = "open the incident again with `incident <number>`."
ACTIONS = (
    ActionSpec("incident.run", pick_clicked, permission=RUNS, params=(an_id, a_ticket),
               damaged=DAMAGED),
    ActionSpec("incident.run-go", run_clicked, permission=RUNS, params=(an_id, a_ticket),
               damaged=DAMAGED),
)

