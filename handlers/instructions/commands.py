"""`instructions`, `run`, `cancel` and `remote install`: 1E instructions from chat.

The run card, approvals and polling live in bot.workflows; this module parses, validates
(parameters against the definition, targets against the inventory and the person's scope)
and starts the run; the buttons of the run card (results, paging, exports, cancel) end here.
"""

from __future__ import annotations

import re

import handlers.instructions.catalogue as catalogue
import handlers.instructions.exports as exports
import handlers.instructions.runs as runs
import handlers.instructions.targets as targets
from bot.context import Context, Reply
from bot.errors import Conflict, Denied, UserError
from bot.model import Command, Interaction
from bot.registry import ActionSpec, Arg, CommandSpec, an_id, one_of
from bot.tenant_settings import CoreTenantSettings
from cards.model import Button, Card, Section, Table, Text, message_card
from cards.model import Context as Small
from handlers.common import find_device
from handlers.instructions.cards import BY_LETTER, CODE_MAX, awaiting_code, results_card
from handlers.instructions.config import InstructionSettings
from handlers.instructions.vendor import require_tachyon
from integrations.http import Cause, VendorError
from storage.instructions import (
    ANSWER,
    ERROR,
    CatalogueRepo,
    InstructionDefinitionRow,
    InstructionRun,
    InstructionRunRepo,
)

CODE = re.compile(rf"^[A-Za-z0-9]{{4,{CODE_MAX}}}$")
INCIDENT = re.compile(r"^[A-Za-z]{2,6}\d{3,12}$")  # INC0012345, RITM0010001, CHG0000042
TEAMVIEWER_INSTALL = "1E-TeamViewer-InstallFullClient"
RUNS = ("instruction.run.question", "instruction.run.action")


def parse_incident(value: str) -> str:
    if not INCIDENT.match(value.strip()):
        raise ValueError(f"`{value}` is not an incident number like INC0012345")
    return value.strip().upper()


def parse_run_id(value: str) -> int:
    digits = value.strip().lstrip("#")
    if not digits.isdigit():
        raise ValueError(f"`{value}` is not a run number; the run card shows it (run 42)")
    return int(digits)


async def cached_catalogue(ctx: Context) -> list[InstructionDefinitionRow]:
    """The tenant's definitions from the cache, fetched from 1E on first use."""
    async with ctx.runtime.db.uow() as uow:
        rows = list(await uow.repo(CatalogueRepo).all(ctx.tenant_id))
    if not rows:  # first use: fetch it now rather than wait for the hourly job
        await require_tachyon(ctx.runtime, ctx.tenant_id)
        try:
            await catalogue.sync(ctx.runtime, ctx.correlation_id, ctx.tenant_id)
        except VendorError as exc:
            raise UserError(f"The instruction catalogue could not be loaded. {exc.message}",
                            title="1E did not answer") from None
        async with ctx.runtime.db.uow() as uow:
            rows = list(await uow.repo(CatalogueRepo).all(ctx.tenant_id))
    return rows


async def list_command(ctx: Context, cmd: Command) -> Reply:
    search = (cmd.args.get("search") or "").strip().lower()
    active = ctx.actor.principal.active
    rows = [r for r in await cached_catalogue(ctx) if catalogue.may_run(ctx.grants, r, active)
            and (not search or search in r.name.lower() or search in r.description.lower())]
    table = tuple((r.name, r.kind, r.instruction_set, catalogue.parameter_text(r)) for r in rows[:100])
    caption = (f"{len(rows)} instruction{'s' if len(rows) != 1 else ''} you may run"
               + (f" matching `{search}`" if search else "")) if rows else (
        "No instruction you may run matches." if search else "You may not run any instruction.")
    sections: list[Section] = [Table(("name", "type", "set", "parameters"), table, caption=caption)]
    if len(rows) > 100:
        sections.append(Small(f"Showing 100 of {len(rows)}; narrow it with a search word."))
    sections.append(Small("Run one: `run <name> [parameter=value ...] on <device | group:NAME | "
                          "a,b,c> [for INC0012345]`. Names may be shortened to any unique part."))
    return Reply.private(Card("Instructions", sections))


async def sync_command(ctx: Context, cmd: Command) -> Reply:
    await require_tachyon(ctx.runtime, ctx.tenant_id)
    try:
        kept, removed = await catalogue.sync(ctx.runtime, ctx.correlation_id, ctx.tenant_id)
    except VendorError as exc:
        raise UserError(f"The catalogue was not refreshed. {exc.message}",
                        title="1E did not answer") from None
    ctx.target = "instruction catalogue"
    return Reply.private(Card("Instruction catalogue refreshed", [
        Text(f"{kept} definitions from 1E" + (f"; {removed} no longer offered were removed." if removed
                                              else ".")),
        Small(f"ref {ctx.correlation_id}")], tone="good"))


def _check_parameters(row: InstructionDefinitionRow, given: dict[str, str]) -> dict[str, str]:
    values, problems = catalogue.definition(row).check_parameters(given)
    if problems:
        raise UserError(" ".join(problems) + f"\nUsage: `run {row.name} {catalogue.parameter_text(row)} "
                        "on <device>`", title="Check the parameters")
    return values


async def run_command(ctx: Context, cmd: Command) -> Reply:
    row = catalogue.pick(await cached_catalogue(ctx), cmd.args["instruction"])
    values = _check_parameters(row, cmd.args.get("parameters") or {})
    async with ctx.runtime.db.uow() as uow:
        limit = (await InstructionSettings.read(uow, ctx.tenant_id)).max_targets
    resolved = await targets.resolve(ctx, cmd.args["target"], limit)
    permission = catalogue.run_permission(row.kind)
    await targets.require_on_all(ctx, permission, resolved.targets, f"run {row.name}", row.instruction_set)
    scope = await targets.vendor_scope(ctx, resolved, permission, row.instruction_set)
    await runs.start(ctx, row, values, resolved.targets, resolved.label, cmd.args.get("incident"),
                     cmd.reply_to, group=resolved.group, scope=scope)
    return Reply([])  # the run card was posted (and is kept) by the workflow


async def cancel_command(ctx: Context, cmd: Command) -> Reply:
    run = await runs.cancel(ctx, cmd.args["run"])
    return Reply.private(Card(f"Run {run.id}: cancel requested", [
        Text(f"{run.definition_name} on {run.target_label} is {run.state.replace('_', ' ')}; its card "
             "shows the end.")], tone="good"))


async def remote_install_command(ctx: Context, cmd: Command) -> Reply:
    device, scope = await find_device(ctx, cmd.args["device"])
    await ctx.require("remote.install", f"install TeamViewer on {device.name}", device=scope)
    rows = await cached_catalogue(ctx)
    row = next((r for r in rows if r.name == TEAMVIEWER_INSTALL), None) or next(
        (r for r in rows if r.kind == "action" and "teamviewer" in r.name.lower()
         and "install" in r.name.lower()), None)
    if row is None:
        raise UserError("The 1E catalogue has no TeamViewer install instruction "
                        f"({TEAMVIEWER_INSTALL}); ask an administrator to publish it.",
                        title="No install instruction")
    values = _check_parameters(row, {})
    if not device.fqdn:
        raise UserError(f"1E addresses devices by FQDN, and the inventory has none for {device.name}.")
    target = runs.Target(device.name, device.fqdn, scope.group)
    await runs.start(ctx, row, values, [target], device.name, cmd.args.get("incident"), cmd.reply_to)
    return Reply([])


async def _readable(ctx: Context, run_id: int, what: str) -> InstructionRun:
    """The run, if the caller asked for it or may read all its devices (the target list is only
    loaded for the second question: it can be 50,000 devices long)."""
    me = ctx.actor.principal
    run = await runs.load(ctx, run_id)
    if run.requester_id == me.id and me.active:
        return run
    async with ctx.runtime.db.uow() as uow:
        targets = await uow.repo(InstructionRunRepo).targets(run.id)
    if not exports.may_read(ctx.grants, me.id, me.active, run, targets):
        raise Denied(f"Only {run.requester_email}, who asked for run {run.id}, or someone with "
                     f"instruction.read over all its devices may {what}.")
    return run


async def _results(ctx: Context, run_id: int, kind: int, after: int | None, shown: int) -> Card:
    run = await _readable(ctx, run_id, "read its results")
    async with ctx.runtime.db.uow() as uow:
        size = (await CoreTenantSettings.read(uow, ctx.tenant_id)).page_size
        rows = list(await uow.repo(InstructionRunRepo).responses(
            run.id, kind != ANSWER, after, size + 1, kind=None if kind == ANSWER else kind))
    return results_card(run, rows[:size], kind=kind, shown_before=shown, has_more=len(rows) > size)


async def results_clicked(ctx: Context, interaction: Interaction) -> Reply:
    return Reply.private(await _results(ctx, interaction.args[0], ANSWER, None, 0))


async def errors_clicked(ctx: Context, interaction: Interaction) -> Reply:
    return Reply.private(await _results(ctx, interaction.args[0], ERROR, None, 0))


async def others_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """No data, not implemented or too large: 1E's other responses that are not errors."""
    run_id, letter = interaction.args
    return Reply.private(await _results(ctx, run_id, BY_LETTER[letter], None, 0))


async def more_clicked(ctx: Context, interaction: Interaction) -> Reply:
    run_id, letter, after = interaction.args
    shown = int(interaction.value) if interaction.value.isdigit() else 0
    return Reply.update(await _results(ctx, run_id, BY_LETTER[letter], after, shown))


async def export_clicked(ctx: Context, interaction: Interaction) -> Reply:
    run_id, fmt = interaction.args
    run = await _readable(ctx, run_id, "export them")
    if ctx.messenger.supports.uploads:
        name, _, body = await exports.build(ctx.runtime, run, fmt)
        await ctx.messenger.upload(interaction.reply_to, name, body, title=name, comment=(
            f"Results of run {run.id}: {run.definition_name} on {run.target_label}"))
        return Reply.private(message_card("Export uploaded", f"`{name}` is in this conversation."))
    url = ctx.runtime.downloads.url(exports.KIND, {"t": ctx.tenant_id, "p": ctx.actor.principal.id,
                                                   "r": run.id, "f": fmt})
    return Reply.private(Card(f"{fmt.upper()} export of run {run.id}", [
        Text("The link works for 15 minutes and checks your access again when opened."),
        Small(f"run {run.id} · ref {ctx.correlation_id}")],
        [Button(f"Download {fmt.upper()}", "run.download", url=url, style="primary")]))


async def code_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """The one-time code 1E e-mails for an action awaiting authentication (Status 12)."""
    run = await runs.load(ctx, interaction.args[0])
    runs.require_requester(ctx, run, "send its 1E code")
    code = "".join((interaction.inputs.get("code") or "").split())
    if not CODE.fullmatch(code):
        raise UserError(f"Type the one-time code from 1E's e-mail: 4 to {CODE_MAX} letters or digits.",
                        title="Check the code")
    if not awaiting_code(run) or run.vendor_id is None:
        raise Conflict(f"Run {run.id} is not waiting for a 1E code (it is "
                       f"{run.state.replace('_', ' ')}).", title="No code needed")
    try:
        client = await require_tachyon(ctx.runtime, ctx.tenant_id)
        await client.authenticate(run.vendor_id, code, cid=ctx.correlation_id)
    except VendorError as exc:
        if exc.cause is Cause.REJECTED:
            raise UserError(f"1E did not take the code: {exc.message} Codes last 10 minutes; use the "
                            "newest e-mail.", title="Code refused") from None
        raise
    await runs.code_accepted(ctx, run)  # never audited or logged: the code is a secret
    return Reply.private(message_card("Code accepted", f"1E sends run {run.id} now; its card shows "
                                      "the progress.", tone="good"))


async def cancel_clicked(ctx: Context, interaction: Interaction) -> Reply:
    await runs.cancel(ctx, interaction.args[0])
    return Reply([])  # every copy of the run card was redrawn


DAMAGED = "`history mine` lists your runs."
# Rights are checked on the run's rows: the requester, or instruction.read over every device.
ACTIONS = (
    ActionSpec("run.results", results_clicked, params=(an_id,), damaged=DAMAGED),
    ActionSpec("run.errors", errors_clicked, params=(an_id,), damaged=DAMAGED),
    ActionSpec("run.others", others_clicked, params=(an_id, one_of("n", "i", "l")), damaged=DAMAGED),
    ActionSpec("run.more", more_clicked, params=(an_id, one_of(*BY_LETTER), an_id),
               damaged="open the results from the run card again."),
    ActionSpec("run.export", export_clicked, params=(an_id, one_of(*exports.CONTENT_TYPES)),
               damaged="use the run card's export buttons."),
    ActionSpec("run.code", code_clicked, params=(an_id,), damaged=DAMAGED),
    ActionSpec("run.cancel", cancel_clicked, params=(an_id,), damaged=DAMAGED),
)
COMMANDS = (
    CommandSpec(
        "instructions", "List the 1E instructions you may run, with their parameters.", list_command,
        permission=(*RUNS, "instruction.read"),
        args=(Arg("search", "part of a name or description", kind="rest", required=False),),
        examples=("instructions", "instructions service")),
    CommandSpec(
        "instructions sync", "Refresh the instruction catalogue from 1E now (it also refreshes hourly).",
        sync_command, permission="settings.write"),
    CommandSpec(
        "run", "Run a 1E instruction on a device, a group or a list of devices.", run_command,
        permission=RUNS,
        args=(Arg("instruction", "the instruction's name (any unique part)"),
              Arg("parameters", "the instruction's parameters", kind="options", required=False),
              Arg("target", "a device, group:NAME or name,name,...", kind="marker", marker="on"),
              Arg("incident", "an incident number", kind="marker", marker="for", required=False,
                  convert=parse_incident)),
        examples=("run GetOperatingSystem on PC-0001",
                  "run ServiceStatus serviceName=Spooler on group:London for INC0012345",
                  "run RestartService serviceName=Spooler on PC-0001,PC-0005")),
    CommandSpec(
        "cancel", "Cancel a run (yours, or any as an administrator).", cancel_command,
        permission=(*RUNS, "remote.install", "rbac.admin"),
        args=(Arg("run", "the run number from its card", convert=parse_run_id),),
        examples=("cancel 42",), menu=False),  # the card's Cancel button is the usual way
    CommandSpec(
        "remote install", "Install the TeamViewer full client on a device through 1E.",
        remote_install_command, permission="remote.install",
        args=(Arg("device", "a device name, FQDN or serial"),
              Arg("incident", "an incident number", kind="marker", marker="for", required=False,
                  convert=parse_incident)),
        examples=("remote install PC-0001", "remote install PC-0001 for INC0012345")),
)
