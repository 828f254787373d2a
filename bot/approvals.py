"""Approval requests about any subject: open, decide (four-eyes, scope, compare-and-set), expire.

A capability whose work may need a second person's approval (an instruction run, a wipe)
declares a `Subject`: how to redraw the subject's cards, who may decide it, and how the subject
moves when the request is decided. The request and the subject move in one transaction, so of
fifty simultaneous clicks exactly one commits. Rights come from the rows and the decider's
grants, never from the card. Deciding redraws every copy of the card after the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot import places
from bot.card_copies import approver_targets, post_copy, refresh
from bot.errors import Conflict, Denied, NotFound, UserError
from bot.model import Actor, ReplyTarget
from bot.tenant_settings import ApprovalSettings
from bot.workflow import Workflow
from cards.model import Button, Card, Section, Text, TextInput, Tone
from cards.model import Context as Small
from storage.directory import PrincipalRow
from storage.uow import UnitOfWork
from storage.workflow import PENDING, ApprovalRepo, ApprovalRequest, past_due, still_open

if TYPE_CHECKING:
    from bot.context import Context
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.approvals")
APPROVED, DENIED, EXPIRED, CANCELLED = "approved", "denied", "expired", "cancelled"
REQUESTS = Workflow("approval request", ApprovalRequest,
                    {PENDING: (APPROVED, DENIED, EXPIRED, CANCELLED)})


class Subject(Protocol):
    """What a workflow's approval requests and card copies are about, e.g. an instruction run."""

    kind: str  # stored on requests and card copies, e.g. "instruction.run"
    approve_permission: str  # checked first on every decision (and named in its audit row)
    when_approved: str  # what happens next, said to the approver ("It goes to 1E now.")

    def label(self, subject_id: int) -> str:
        """How people name it: "Run 42"."""
        ...

    async def cards(self, runtime: Runtime, tenant_id: int,
                    subject_id: int) -> Mapping[str, Card] | None:
        """Its card for each audience ("approvers", "requester"), drawn from the rows."""
        ...

    async def check_decider(self, ctx: Context, subject_id: int, verb: str) -> None:
        """Raise Denied unless the person may decide it over every device it touches."""
        ...

    async def may_decide(self, ctx: Context, subject_id: int) -> bool:
        """The same rule as check_decider, asked without recording anything."""
        ...

    async def decided(self, uow: UnitOfWork, tenant_id: int, subject_id: int, outcome: str,
                      by: str, reason: str) -> bool:
        """Move the subject for `outcome` (approved/denied/expired) in the request's
        transaction; False when it has moved on (the decision is then rolled back)."""
        ...

    async def after(self, runtime: Runtime, tenant_id: int, subject_id: int, outcome: str) -> None:
        """After the decision committed: e.g. hand an approved run to its driver."""
        ...

    async def place(self, runtime: Runtime, tenant_id: int,
                    subject_id: int) -> dict[str, Any] | None:
        """Where its requester asked (bot/places.py), to tell them of the decision."""
        ...


def approval_text(request: ApprovalRequest) -> str:
    if request.state == PENDING:
        return f"pending, expires {request.expires_at:%Y-%m-%d %H:%M} UTC"
    who = request.decided_by_email or "deskhand"
    text = {APPROVED: f"approved by {who}", DENIED: f"denied by {who}",
            EXPIRED: "expired without a decision",
            CANCELLED: f"withdrawn by {request.decided_by_email}" if request.decided_by_email
            else "cancelled"}.get(request.state, request.state)
    return text + (f": {request.reason}" if request.reason else "")


def decision_controls(request: ApprovalRequest) -> tuple[TextInput, list[Button]]:
    """What every approvers' card offers while the request is pending: a reason, Approve, Deny."""
    rid = str(request.id)
    return (TextInput("reason", "Reason (optional; shown to the requester)",
                      placeholder="why you approve or deny", max_length=400),
            [Button("Approve", f"approval.approve:{rid}", rid, "primary"),
             Button("Deny", f"approval.deny:{rid}", rid, "danger")])


async def open_request(uow: UnitOfWork, tenant_id: int, kind: str, subject_id: int, summary: str,
                       requester: Actor, minutes: int) -> ApprovalRequest:
    """A pending request about the subject, in the caller's transaction."""
    return await uow.repo(ApprovalRepo).add(ApprovalRequest(
        tenant_id=tenant_id, subject_kind=kind, subject_id=subject_id, summary=summary[:300],
        state=PENDING, requester_id=requester.principal.id, requester_email=requester.principal.email,
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes)))


async def announce(ctx: Context, request: ApprovalRequest, settings: ApprovalSettings,
                   origin: ReplyTarget) -> None:
    """Post the approvers' copies of the subject's card and record that approval was asked."""
    rt, subject = ctx.runtime, ctx.runtime.registry.subject(request.subject_kind)
    cards = await subject.cards(rt, request.tenant_id, request.subject_id) or {}
    if "approvers" in cards:
        for messenger, target in approver_targets(rt, request.tenant_id, settings, origin):
            await post_copy(rt, request.tenant_id, request.subject_kind, request.subject_id,
                            "approvers", messenger, target, cards["approvers"])
    await rt.audit.record(ctx.tenant_id, "decision", "approval.request", PENDING, actor=ctx.actor,
                          correlation_id=ctx.correlation_id, target=request.summary,
                          params={"subject": f"{request.subject_kind}:{request.subject_id}",
                                  "request": request.id})


async def withdraw(uow: UnitOfWork, tenant_id: int, kind: str, subject_id: int, by: Actor) -> None:
    """The subject was cancelled while waiting: its request ends as withdrawn (same transaction)."""
    request = await uow.repo(ApprovalRepo).for_subject(kind, subject_id)
    if request is not None:
        await REQUESTS.move(uow, tenant_id, request.id, PENDING, CANCELLED,
                            decided_at=datetime.now(UTC), decided_by_id=by.principal.id,
                            decided_by_email=by.principal.email, decided_via=str(by.identity)[:400])


async def _load(ctx: Context, request_id: int) -> tuple[ApprovalRequest, Subject, str]:
    async with ctx.runtime.db.uow() as uow:
        request = await uow.repo(ApprovalRepo).get(ctx.tenant_id, request_id)
    if request is None or request.subject_kind not in ctx.runtime.registry.subjects:
        raise NotFound(f"There is no approval request {request_id}.", title="Unknown request")
    subject = ctx.runtime.registry.subject(request.subject_kind)
    ctx.target = request.summary
    ctx.audit_params.update(request=request.id, subject=f"{request.subject_kind}:{request.subject_id}")
    return request, subject, subject.label(request.subject_id)


async def _requester_active(ctx: Context, request: ApprovalRequest) -> bool:
    """Deactivation cancels a person's pending requests; this covers the moment in between."""
    if request.requester_id is None:
        return True
    async with ctx.runtime.db.uow() as uow:
        requester = await uow.session.get(PrincipalRow, request.requester_id)
    return requester is None or requester.active


async def decide(ctx: Context, request_id: int, approve: bool, reason: str) -> ApprovalRequest:
    request, subject, label = await _load(ctx, request_id)
    verb, outcome = ("approve", APPROVED) if approve else ("deny", DENIED)
    if request.state != PENDING:  # the winner already redrew every copy
        raise Conflict(f"{label} was already {approval_text(request)}.", title="Already decided")
    if request.expires_at <= datetime.now(UTC):
        raise UserError(f"This request expired at {request.expires_at:%Y-%m-%d %H:%M} UTC; the "
                        "requester can ask again.", title="Request expired")
    await ctx.require(subject.approve_permission, f"{verb} {label}")
    if request.requester_id == ctx.actor.principal.id:
        await ctx.runtime.audit.record(
            ctx.tenant_id, "denial", subject.approve_permission, "denied", actor=ctx.actor,
            correlation_id=ctx.correlation_id, target=request.summary,
            detail=f"four-eyes: {ctx.actor.principal.email} asked for {label}")
        raise Denied(f"You asked for {label.lower()}, so you may not {verb} it: someone else must "
                     "decide. This holds for every chat account linked to you.")
    await subject.check_decider(ctx, request.subject_id, verb)
    if approve and not await _requester_active(ctx, request):
        raise UserError(f"{label} was asked for by {request.requester_email}, whose account is "
                        "deactivated, so it can no longer be approved.",
                        title="Requester deactivated")
    reason = " ".join(reason.split())[:400]
    who = ctx.actor.principal.email
    async with ctx.runtime.db.uow() as uow:
        won = await REQUESTS.move(
            uow, ctx.tenant_id, request.id, PENDING, outcome, guards=[still_open()],
            decided_at=datetime.now(UTC), decided_by_id=ctx.actor.principal.id, decided_by_email=who,
            decided_via=str(ctx.actor.identity)[:400], reason=reason) \
            and await subject.decided(uow, ctx.tenant_id, request.subject_id, outcome, who, reason)
        if won:
            await uow.commit()
        else:
            await uow.rollback()
    if not won:
        request, _, _ = await _load(ctx, request_id)
        raise Conflict(f"{label} was decided a moment ago: {approval_text(request)}.",
                       title="Already decided")
    await ctx.runtime.audit.record(
        ctx.tenant_id, "decision", subject.approve_permission, outcome, actor=ctx.actor,
        correlation_id=ctx.correlation_id, target=request.summary,
        params={"subject": f"{request.subject_kind}:{request.subject_id}", "request": request.id},
        detail=reason)
    await subject.after(ctx.runtime, ctx.tenant_id, request.subject_id, outcome)
    tenant, kind, subject_id = ctx.tenant_id, request.subject_kind, request.subject_id
    ctx.defer(lambda: refresh(ctx.runtime, tenant, kind, subject_id))  # every copy, after the answer
    async with ctx.runtime.db.uow() as uow:
        request = await uow.repo(ApprovalRepo).get(ctx.tenant_id, request.id) or request
    decided = request
    ctx.defer(lambda: tell_requester(ctx.runtime, decided, ctx.correlation_id))
    return request


# What the requester is told of a decision: title, text, tone.
TOLD: dict[str, tuple[str, str, Tone]] = {
    APPROVED: ("Your {what} was approved", "{who} approved your {what}: {summary}. {next}", "good"),
    DENIED: ("Your {what} was denied", "{who} denied your {what}: {summary}.", "attention"),
    EXPIRED: ("Your {what} expired", "Nobody approved or denied your {what} ({summary}) in time. "
              "Ask again if it is still needed.", "warning"),
}


async def tell_requester(runtime: Runtime, request: ApprovalRequest, ref: str) -> None:
    """The requester hears of the decision where they asked, privately: their own card changes
    in place too, but often far up the conversation."""
    subject = runtime.registry.subjects.get(request.subject_kind)
    if subject is None or request.state not in TOLD:
        return
    title, text, tone = TOLD[request.state]
    label = subject.label(request.subject_id)
    words = {"what": label[:1].lower() + label[1:], "who": request.decided_by_email or "deskhand",
             "summary": request.summary, "next": subject.when_approved}
    sections: list[Section] = [Text(text.format(**words))]
    if request.reason and request.state == DENIED:
        sections.append(Text(f"Reason: {request.reason}"))
    sections.append(Small(f"ref {ref}"))
    await places.tell(runtime, await subject.place(runtime, request.tenant_id, request.subject_id),
                      Card(title.format(**words), sections, tone=tone))


async def expire_overdue(runtime: Runtime) -> int:
    """Expire pending requests past their time; their subjects end as expired. Returns how many."""
    async with runtime.db.uow() as uow:
        overdue = list(await uow.repo(ApprovalRepo).overdue())
    done = 0
    for request in overdue:
        subject = runtime.registry.subjects.get(request.subject_kind)
        if subject is None:
            continue  # its capability is not installed in this process
        minutes = int((request.expires_at - request.created_at).total_seconds() // 60)
        async with runtime.db.uow() as uow:
            expired = await REQUESTS.move(uow, request.tenant_id, request.id, PENDING, EXPIRED,
                                          guards=[past_due()], decided_at=datetime.now(UTC))
            moved = expired and await subject.decided(
                uow, request.tenant_id, request.subject_id, EXPIRED, "deskhand",
                f"Nobody approved or denied it within {minutes} minutes.")
            await uow.commit()
        if not expired:
            continue  # decided in the meantime
        done += 1
        await runtime.audit.record(request.tenant_id, "decision", subject.approve_permission, EXPIRED,
                                   actor_label="deskhand", correlation_id=f"expire-{request.id}",
                                   target=request.summary,
                                   params={"subject": f"{request.subject_kind}:{request.subject_id}",
                                           "request": request.id})
        if moved:
            await refresh(runtime, request.tenant_id, request.subject_kind, request.subject_id)
            async with runtime.db.uow() as uow:
                request = await uow.repo(ApprovalRepo).get(request.tenant_id, request.id) or request
            await tell_requester(runtime, request, f"expire-{request.id}")
    return done


async def cancel_requests_of(runtime: Runtime, tenant_id: int, principal_id: int,
                             reason: str, by: str) -> int:
    """End every pending request a person opened as cancelled, with its subject (the subject's
    `decided` hook moves it for CANCELLED), audit each and redraw every copy of its card. A
    subject that cannot be cancelled keeps its request, which then expires. Returns how many."""
    async with runtime.db.uow() as uow:
        pending = list(await uow.repo(ApprovalRepo).pending_by(tenant_id, principal_id))
    done = 0
    for request in pending:
        subject = runtime.registry.subjects.get(request.subject_kind)
        if subject is None:
            continue  # its capability is not installed in this process
        async with runtime.db.uow() as uow:
            try:
                won = await REQUESTS.move(
                    uow, tenant_id, request.id, PENDING, CANCELLED, decided_at=datetime.now(UTC),
                    decided_by_email=None, reason=reason[:400]) \
                    and await subject.decided(uow, tenant_id, request.subject_id, CANCELLED, by,
                                              reason)
            except ValueError:  # this subject has no way to be cancelled
                log.warning("%s cannot be cancelled; its request %s will expire",
                            request.subject_kind, request.id)
                won = False
            if not won:
                await uow.rollback()
                continue
            await uow.commit()
        done += 1
        await runtime.audit.record(tenant_id, "decision", subject.approve_permission, CANCELLED,
                                   actor_label=by, correlation_id=f"cancel-{request.id}",
                                   target=request.summary, detail=reason,
                                   params={"subject": f"{request.subject_kind}:{request.subject_id}",
                                           "request": request.id})
        await refresh(runtime, tenant_id, request.subject_kind, request.subject_id)
    return done
