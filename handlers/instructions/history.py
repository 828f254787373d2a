"""`history [mine | device X | instruction Y]`: past runs with who, what, when, approval, outcome.

A person sees their own runs, and others' runs whose every device lies in their
instruction.read scope. Newest first, keyset-paged with an "Older" button.
"""

from __future__ import annotations

from bot.approvals import approval_text
from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.model import Command, Interaction
from bot.registry import ActionSpec, Arg, CommandSpec, an_id
from cards.model import Button, Card, Table
from cards.model import Context as Small
from handlers.instructions.cards import RUN
from handlers.instructions.catalogue import pick
from handlers.instructions.exports import may_read
from handlers.instructions.states import LABELS
from storage.instructions import CatalogueRepo, InstructionRun, InstructionRunRepo
from storage.workflow import ApprovalRepo

PAGE = 15
SCAN = 10  # pages of rows scanned per card while skipping runs out of the person's scope
USAGE = "Use `history`, `history mine`, `history device PC-0001` or `history instruction <name>`."


def parse_filter(text: str | None) -> tuple[str, str]:
    words = (text or "").split()
    if not words:
        return "all", ""
    kind = words[0].lower()
    if kind == "mine" and len(words) == 1:
        return "mine", ""
    if kind in ("device", "instruction") and len(words) >= 2:
        return kind, " ".join(words[1:])
    raise UserError(f"`history {text}` is not a filter I know. {USAGE}", title="Check the command")


def _outcome(run: InstructionRun) -> str:
    return LABELS.get(run.state, run.state) + (f" ({run.answers_stored} answers)"
                                               if run.answers_stored else "")


async def _card(ctx: Context, kind: str, value: str, before: int | None) -> Card:
    me = ctx.actor.principal
    shown = []
    cursor = before
    exhausted = False
    async with ctx.runtime.db.uow() as uow:
        runs = uow.repo(InstructionRunRepo)
        for _ in range(SCAN):
            batch = await runs.history(
                ctx.tenant_id, requester_id=me.id if kind == "mine" else None,
                device=value if kind == "device" else None,
                definition=value if kind == "instruction" else None, before_id=cursor, limit=PAGE * 2)
            if not batch:
                exhausted = True
                break
            for r in batch:
                targets = [] if r.requester_id == me.id else await runs.targets(r.id)
                if may_read(ctx.grants, me.id, me.active, r, targets):
                    shown.append(r)
            cursor = batch[-1].id
            if len(shown) > PAGE:
                break
        requests = await uow.repo(ApprovalRepo).for_subjects(RUN, [r.id for r in shown[:PAGE]])
    more = None
    if len(shown) > PAGE or (not exhausted and shown):
        last = shown[min(len(shown), PAGE) - 1].id
        more = Button("Older", f"history.more:{last}", f"{kind}\x1f{value}")
    rows = tuple((str(r.id), r.created_at.strftime("%Y-%m-%d %H:%M"), r.requester_email,
                  r.definition_name, r.target_label,
                  approval_text(requests[r.id]) if r.id in requests else "not needed",
                  _outcome(r)) for r in shown[:PAGE])
    what = {"all": "", "mine": " (mine)", "device": f" on {value}", "instruction": f" of {value}"}[kind]
    return Card(f"Instruction history{what}", [
        Table(("run", "when (UTC)", "who", "instruction", "targets", "approval", "outcome"), rows,
              caption="Newest first" if rows else "No runs you may see match.", more=more),
        Small("Only runs you asked for or whose devices are all in your scope are listed."),
    ])


async def _instruction_name(ctx: Context, typed: str) -> str:
    """The full name `run` would take `typed` for. A name runs were made under is kept as typed
    even when the catalogue no longer holds it exactly, so the runs of a withdrawn instruction
    are found by their full name, never those of another one whose name contains it."""
    async with ctx.runtime.db.uow() as uow:
        rows = list(await uow.repo(CatalogueRepo).all(ctx.tenant_id))
        if not any(r.name.lower() == typed.strip().lower() for r in rows) and \
                await uow.repo(InstructionRunRepo).history(ctx.tenant_id, definition=typed, limit=1):
            return typed
    try:
        return pick(rows, typed).name
    except NotFound:
        return typed


async def history_command(ctx: Context, cmd: Command) -> Reply:
    kind, value = parse_filter(cmd.args.get("filter"))
    if kind == "instruction":
        value = await _instruction_name(ctx, value)
    return Reply.private(await _card(ctx, kind, value, None))


async def more_clicked(ctx: Context, interaction: Interaction) -> Reply:
    (before,), (kind, value) = interaction.args, interaction.fields
    if kind not in ("all", "mine", "device", "instruction"):
        raise UserError("This button is damaged; run `history` again.")
    return Reply.update(await _card(ctx, kind, value, before))


COMMANDS = (CommandSpec(
    "history", "Past instruction runs: who, what, when, approval and outcome.", history_command,
    permission=("instruction.read", "instruction.run.question", "instruction.run.action",
                "remote.install"),
    args=(Arg("filter", "mine, device <name> or instruction <name>", kind="rest", required=False),),
    examples=("history", "history mine", "history device PC-0001",
              "history instruction 1E-TeamViewer-InstallFullClient")),)
ACTIONS = (ActionSpec("history.more", more_clicked, params=(an_id,), fields=2,
                      damaged="run `history` again."),)
