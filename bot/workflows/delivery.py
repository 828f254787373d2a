"""Posting a run's card copies and updating every copy when the run moves on.

Each posted copy is stored (platform, channel, message id, extra) so any process, after any
restart, can update it; a copy that cannot be updated any more is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot import tenant_settings
from bot.model import Actor, MessageRef, ReplyTarget
from bot.workflows.cards import run_card
from cards.model import Card
from storage.instructions import InstructionRunRepo
from storage.workflow import ApprovalRepo, WorkflowCardRepo

if TYPE_CHECKING:
    from bot.messaging import Messenger
    from bot.runtime import Runtime
    from storage.instructions import InstructionRun

log = logging.getLogger("deskhand.workflows")
CONSOLE_ROOM = "console"


async def post_copy(runtime: Runtime, run_id: int, audience: str, messenger: Messenger,
                    target: ReplyTarget, card: Card, private_to: Actor | None = None) -> MessageRef | None:
    """Post one copy and remember where it went; None (logged) when the platform refused."""
    try:
        ref = await messenger.post(target, card, private_to=private_to)
    except Exception as exc:  # a channel the bot is not in, a platform outage: other copies still go
        log.warning("run %s: posting the %s card to %s:%s failed: %s", run_id, audience,
                    target.platform, target.channel, type(exc).__name__)
        return None
    async with runtime.db.uow() as uow:
        await uow.repo(WorkflowCardRepo).add(runtime.tenant_id, run_id, audience, ref.platform,
                                             ref.channel, ref.message_id, _plain(ref.extra))
        await uow.commit()
    return ref


def _plain(extra: dict[str, Any]) -> dict[str, Any]:
    """Only JSON-safe values survive into the row."""
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | dict | list)
            or v is None}


def approver_targets(runtime: Runtime, settings: tenant_settings.TenantSettings,
                     origin: ReplyTarget) -> list[tuple[Messenger, ReplyTarget]]:
    """Where the approvers' copy goes: each platform's configured channel, the console room for a
    console request, and the requester's own conversation when their platform has no channel."""
    out: list[tuple[Messenger, ReplyTarget]] = []
    configured = {"slack": settings.approval_channel_slack, "teams": settings.approval_channel_teams}
    for platform, channel in configured.items():
        messenger = runtime.messenger(platform)
        if channel and messenger is not None:
            out.append((messenger, ReplyTarget(platform, channel)))  # type: ignore[arg-type]
    console = runtime.messenger("console")
    if origin.platform == "console" and console is not None:
        out.append((console, ReplyTarget("console", CONSOLE_ROOM)))
    elif origin.platform != "console" and not configured.get(origin.platform):
        own = runtime.messenger(origin.platform)
        if own is not None:
            out.append((own, origin))
    return out


async def refresh(runtime: Runtime, run_id: int, audiences: tuple[str, ...] = ("approvers", "requester")
                  ) -> None:
    """Redraw every stored copy of the run's card for the given audiences from the rows."""
    async with runtime.db.uow() as uow:
        run = await uow.repo(InstructionRunRepo).get(runtime.tenant_id, run_id)
        if run is None:
            return
        request = await uow.repo(ApprovalRepo).for_run(run_id)
        copies = [c for c in await uow.repo(WorkflowCardRepo).for_run(run_id) if c.audience in audiences]
    updates = []
    for copy in copies:
        messenger = runtime.messenger(copy.platform)
        if messenger is None:
            continue
        ref = MessageRef(copy.platform, copy.channel, copy.message_id, dict(copy.extra or {}))  # type: ignore[arg-type]
        updates.append(_update(messenger, ref, run_card(run, request, copy.audience), run))
    await asyncio.gather(*updates)


async def _update(messenger: Messenger, ref: MessageRef, card: Card, run: InstructionRun) -> None:
    try:
        await messenger.update(ref, card)
    except Exception as exc:  # an ephemeral Slack card past its response_url, an uninstalled app
        log.warning("run %s: updating the card in %s:%s failed: %s", run.id, ref.platform, ref.channel,
                    type(exc).__name__)
