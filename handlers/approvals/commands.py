"""Approve/Deny on any approval card, and `approvals`: the requests waiting for a decision.

The decision itself (four-eyes on the principal, the subject's scope check, compare-and-set,
every copy redrawn) is bot/approvals.py; the card's optional reason arrives as the `reason`
input (a card text field in Teams and the console, a modal in Slack).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot import approvals
from bot.context import Context, Reply
from bot.model import Command, Interaction
from bot.registry import ActionSpec, CommandSpec, an_id
from cards.model import Card, Table, message_card
from cards.model import Context as Small
from storage.base import utcnow
from storage.workflow import ApprovalRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

EXPIRY_SECONDS = 10.0  # overdue requests are looked for at most this often
# ... and at least this often while none is pending here: a request another process made expires
# on its card at most this late (a click after its time is refused anyway).
EXPIRY_IDLE_SECONDS = 60.0
DAMAGED = "`approvals` lists the open requests."
CARDS = 4  # approvers' cards under the list (a Slack response_url takes five messages)


async def _decide(ctx: Context, interaction: Interaction, approve: bool) -> Reply:
    request = await approvals.decide(ctx, interaction.args[0], approve, interaction.inputs.get("reason", ""))
    subject = ctx.runtime.registry.subject(request.subject_kind)
    label, verb = subject.label(request.subject_id), "approved" if approve else "denied"
    text = (f"You {verb} {label.lower()}: {request.summary}."
            + (f" {subject.when_approved}" if approve else " The requester is told, with your reason."))
    return Reply.private(message_card(f"{label} {verb}", text, tone="good" if approve else "info"))


async def approve_clicked(ctx: Context, interaction: Interaction) -> Reply:
    return await _decide(ctx, interaction, True)


async def deny_clicked(ctx: Context, interaction: Interaction) -> Reply:
    return await _decide(ctx, interaction, False)


async def list_command(ctx: Context, cmd: Command) -> Reply:
    """The waiting requests as a table, then the oldest ones this person could decide as their
    approvers' cards, with Approve and Deny: the card in the approvers' channel is easy to lose."""
    async with ctx.runtime.db.uow() as uow:
        pending = await uow.repo(ApprovalRepo).pending(ctx.tenant_id)
    registry = ctx.runtime.registry
    pending = [r for r in pending if r.subject_kind in registry.subjects]
    rows = tuple((str(r.id), registry.subject(r.subject_kind).label(r.subject_id), r.summary,
                  r.requester_email, approvals.approval_text(r)) for r in pending)
    cards: list[Card] = []
    # Only where nobody else sees them (a Teams channel without a 1:1 chat would show them all).
    private = await ctx.messenger.private_place(cmd.reply_to, ctx.actor) is not None
    for request in (r for r in pending if private and r.requester_id != ctx.actor.principal.id):
        subject = registry.subject(request.subject_kind)
        if len(cards) == CARDS or not await subject.may_decide(ctx, request.subject_id):
            continue
        drawn = await subject.cards(ctx.runtime, ctx.tenant_id, request.subject_id)
        if drawn and "approvers" in drawn:
            cards.append(drawn["approvers"])
    if not rows:
        note = ""
    elif cards:
        note = (f"The {len(cards)} oldest you may decide follow, with Approve and Deny."
                + (" Decide those to see the next." if len(cards) == CARDS else ""))
    elif not private:
        note = "Ask in your chat with deskhand to get these with Approve and Deny."
    else:
        note = ("None of these is yours to decide: you asked for them, or their devices are "
                "outside your scope.")
    summary = Card("Requests waiting for approval", [
        Table(("request", "for", "what", "requested by", "approval"), rows,
              caption="" if rows else "Nothing is waiting for approval."),
        *([Small(note)] if note else []),
    ])
    return Reply([summary, *cards], visibility="private")


async def expire(runtime: Runtime) -> datetime | None:
    """Expire the overdue requests; when the next one is due (the job sleeps until then).
    While none is overdue (nearly always) that is one read: the job wakes every minute."""
    due = await _next_expiry(runtime)
    if due is None or due > utcnow():
        return due
    await approvals.expire_overdue(runtime)
    return await _next_expiry(runtime)


async def _next_expiry(runtime: Runtime) -> datetime | None:
    async with runtime.db.reads() as uow:
        return await uow.repo(ApprovalRepo).next_expiry()


# Every subject's own approve permission is checked on the click (bot/approvals.decide).
DECIDERS = ("instruction.approve", "device.wipe.approve", "device.enterprise_wipe.approve")
COMMANDS = (CommandSpec("approvals", "Requests waiting for an approver's decision.", list_command,
                        permission=DECIDERS),)
ACTIONS = (ActionSpec("approval.approve", approve_clicked, params=(an_id,), damaged=DAMAGED),
           ActionSpec("approval.deny", deny_clicked, params=(an_id,), damaged=DAMAGED))
