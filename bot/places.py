"""Where a person asked for something, kept with the row it started, so deskhand can tell them
later (a decision, a run given up after a crash) privately in that same conversation.

A place is stored as plain JSON: the platform, the conversation, the thread, what the platform
needs to post there again (a Teams conversation reference; never a token), the chat account
that asked and the tenant they asked in, so that the conversation is looked up in that tenant
(a Teams conversation is kept per tenant) and a Slack post uses its workspace's token.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.model import Actor, PlatformIdentity, ReplyTarget
from cards.model import Card

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.workflows")
PLATFORMS = ("slack", "teams", "console")


def stored(target: ReplyTarget, actor: Actor) -> dict[str, Any]:
    """Where `actor` asked, to keep with the row their request started."""
    extra = {k: v for k, v in target.extra.items() if isinstance(v, str | bool | int | float)}
    if isinstance(target.extra.get("reference"), dict):  # Teams: JSON already, no secret in it
        extra["reference"] = target.extra["reference"]
    account = actor.identity
    return {"platform": target.platform, "channel": target.channel, "thread": target.thread,
            "extra": extra, "account": [account.platform, account.platform_tenant,
                                        account.user_id], "tenant": actor.principal.tenant_id}


def target_of(place: dict[str, Any] | None) -> ReplyTarget | None:
    place = place or {}
    if place.get("platform") not in PLATFORMS:
        return None
    extra = dict(place.get("extra") or {})
    if isinstance(place.get("tenant"), int):  # a place kept before the tenant was: the home's
        extra["tenant"] = place["tenant"]
    return ReplyTarget(place["platform"], str(place.get("channel") or ""), place.get("thread"),
                       extra)


def account_of(place: dict[str, Any] | None) -> PlatformIdentity | None:
    account = (place or {}).get("account")
    if not isinstance(account, list) or len(account) != 3 or account[0] not in PLATFORMS:
        return None
    return PlatformIdentity(account[0], str(account[1]), str(account[2]))


async def tell(runtime: Runtime, place: dict[str, Any] | None, card: Card) -> bool:
    """Post `card` to the person who asked, only they see it; False (logged) when it cannot go."""
    target, account = target_of(place), account_of(place)
    messenger = runtime.messenger(target.platform) if target else None
    if target is None or account is None or messenger is None:
        log.info("a notice could not be delivered: no place to reach its person")
        return False
    try:
        private = await messenger.private_place(target, account)
        if private is None:  # a Teams channel and no 1:1 chat: it would show to everyone there
            log.info("a notice was not delivered: %s offers no private place for its person",
                     target.platform)
            return False
        await messenger.post(private, card, private_to=account)
    except Exception as exc:  # the conversation is gone, the bot was removed: the row still says it
        log.warning("a notice to %s:%s was not delivered: %s", target.platform, target.channel,
                    type(exc).__name__)
        return False
    return True


def said_privately(target: ReplyTarget) -> bool:
    """Whether what the person typed there was seen by them alone: the console (typed text is
    echoed to its author only), a Slack slash command or DM, a Teams personal chat. A Slack
    mention or a Teams channel message is seen by everyone in the conversation."""
    if target.platform == "console":
        return True
    if target.platform == "slack":
        return bool(target.extra.get("response_url") or target.extra.get("im"))
    return target.platform == "teams" and target.extra.get("conversation_type") == "personal"
