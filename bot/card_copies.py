"""Posting a workflow card's copies, and redrawing every copy when its subject moves on.

A subject (an instruction run, later a device action) may have several copies of its card: the
requester's, and the approvers' in each platform's approvers' channel. Each posted copy is
stored (platform, channel, message id, extra) so any process, after any restart, can redraw
it from the rows; a copy that cannot be updated any more is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.model import Actor, MessageRef, ReplyTarget
from cards.model import Card
from storage.workflow import WorkflowCardRepo

if TYPE_CHECKING:
    from bot.adapter import Messenger
    from bot.runtime import Runtime
    from bot.tenant_settings import ApprovalSettings

log = logging.getLogger("deskhand.workflows")
AUDIENCES = ("approvers", "requester")


async def post_copy(runtime: Runtime, tenant_id: int, kind: str, subject_id: int, audience: str,
                    messenger: Messenger, target: ReplyTarget, card: Card,
                    private_to: Actor | None = None) -> MessageRef | None:
    """Post one copy and remember where it went; None (logged) when the platform refused."""
    try:
        ref = await messenger.post(target, card, private_to=private_to)
    except Exception as exc:  # a channel the bot is not in, a platform outage: other copies still go
        log.warning("%s %s: posting the %s card to %s:%s failed: %s", kind, subject_id, audience,
                    target.platform, target.channel, type(exc).__name__)
        return None
    async with runtime.db.uow() as uow:
        await uow.repo(WorkflowCardRepo).add(tenant_id, kind, subject_id, audience,
                                             ref.platform, ref.channel, ref.message_id,
                                             _plain(ref.extra))
        await uow.commit()
    return ref


def _plain(extra: dict[str, Any]) -> dict[str, Any]:
    """Only JSON-safe values survive into the row."""
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | dict | list)
            or v is None}


def approver_targets(runtime: Runtime, tenant_id: int, settings: ApprovalSettings,
                     origin: ReplyTarget) -> list[tuple[Messenger, ReplyTarget]]:
    """Where the approvers' copy goes: each platform's configured channel (the tenant's: with
    its Slack token, among its Teams conversations), the console room for a console request
    (the requester's tenant's), and the requester's own conversation when their platform has
    no channel."""
    out: list[tuple[Messenger, ReplyTarget]] = []
    configured = {"slack": settings.approval_channel_slack, "teams": settings.approval_channel_teams}
    for platform, channel in configured.items():
        messenger = runtime.messenger(platform)
        if channel and messenger is not None:
            out.append((messenger, ReplyTarget(platform, channel,  # type: ignore[arg-type]
                                               extra={"tenant": tenant_id})))
    console = runtime.messenger("console")
    if origin.platform == "console" and console is not None:
        out.append((console, ReplyTarget("console", origin.channel)))
    elif origin.platform != "console" and not configured.get(origin.platform):
        own = runtime.messenger(origin.platform)
        if own is not None:
            out.append((own, origin))
    return out


async def refresh(runtime: Runtime, tenant_id: int, kind: str, subject_id: int,
                  audiences: tuple[str, ...] = AUDIENCES) -> None:
    """Redraw every stored copy of the subject's card for the given audiences from the rows."""
    cards = await runtime.registry.subject(kind).cards(runtime, tenant_id, subject_id)
    if cards is None:
        return
    async with runtime.db.uow() as uow:
        copies = [c for c in await uow.repo(WorkflowCardRepo).for_subject(kind, subject_id)
                  if c.audience in audiences and c.audience in cards]
    updates = []
    for copy in copies:
        messenger = runtime.messenger(copy.platform)
        if messenger is None:
            continue
        ref = MessageRef(copy.platform, copy.channel, copy.message_id, dict(copy.extra or {}))  # type: ignore[arg-type]
        updates.append(_update(messenger, ref, cards[copy.audience], f"{kind} {subject_id}"))
    await asyncio.gather(*updates)


async def _update(messenger: Messenger, ref: MessageRef, card: Card, what: str) -> None:
    try:
        await messenger.update(ref, card)
    except Exception as exc:  # an ephemeral Slack card past its response_url, an uninstalled app
        log.warning("%s: updating the card in %s:%s failed: %s", what, ref.platform, ref.channel,
                    type(exc).__name__)
