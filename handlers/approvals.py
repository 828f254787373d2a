"""Approve/Deny on run cards, and `approvals`: the requests waiting for a decision.

The decision itself (four-eyes on the principal, scope over every target, compare-and-set)
is in bot.workflows.approvals; the card's optional reason arrives as the `reason` input
(a card text field in Teams and the console, a modal in Slack).
"""

from __future__ import annotations

from bot.context import Context, Reply, UserError
from bot.model import Command, Interaction
from bot.registry import ActionSpec, CommandSpec, Registry
from bot.workflows import approvals, states
from bot.workflows.cards import approval_text
from cards.model import Card, Table, message_card
from cards.model import Context as Small
from storage.instructions import InstructionRunRepo
from storage.workflow import ApprovalRepo


def _request_id(interaction: Interaction) -> int:
    raw = interaction.action_id.split(":", 1)[-1]
    if not raw.isdigit():
        raise UserError("This button is damaged; `approvals` lists the open requests.")
    return int(raw)


async def _decide(ctx: Context, interaction: Interaction, approve: bool) -> Reply:
    reason = interaction.inputs.get("reason", "")
    run = await approvals.decide(ctx, _request_id(interaction), approve, reason)
    verb = "approved" if approve else "denied"
    text = (f"You {verb} run {run.id}: {run.definition_name} on {run.target_label}."
            + (" It goes to 1E now." if approve else " The requester sees your reason on their card."))
    return Reply.private(message_card(f"Run {run.id} {verb}", text, tone="good" if approve else "info"))


async def approve_clicked(ctx: Context, interaction: Interaction) -> Reply:
    return await _decide(ctx, interaction, True)


async def deny_clicked(ctx: Context, interaction: Interaction) -> Reply:
    return await _decide(ctx, interaction, False)


async def list_command(ctx: Context, cmd: Command) -> Reply:
    async with ctx.runtime.db.uow() as uow:
        pending = await uow.repo(InstructionRunRepo).history(ctx.tenant_id, state=states.AWAITING, limit=50)
        requests = {r.id: await uow.repo(ApprovalRepo).for_run(r.id) for r in pending}
    rows = tuple((str(r.id), r.requester_email, r.definition_name, r.target_label,
                  approval_text(q) if q else "-") for r in pending if (q := requests[r.id]) is not None)
    return Reply.private(Card("Requests waiting for approval", [
        Table(("run", "requested by", "instruction", "targets", "approval"), rows,
              caption="" if rows else "Nothing is waiting for approval."),
        Small("Approve or deny on the request card in the approvers' channel."),
    ]))


def register(registry: Registry) -> None:
    registry.add_action(ActionSpec("approval.approve", approve_clicked, permission="instruction.approve"))
    registry.add_action(ActionSpec("approval.deny", deny_clicked, permission="instruction.approve"))
    registry.add(CommandSpec("approvals", "Runs waiting for an approver's decision.", list_command,
                             permission="instruction.approve"))
