"""How handlers and background jobs post and update cards on whichever platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.model import Actor, MessageRef, Platform, ReplyTarget
from cards.model import Card

if TYPE_CHECKING:
    from bot.context import Reply


class Messenger(Protocol):
    platform: Platform

    async def post(self, target: ReplyTarget, card: Card, *,
                   private_to: Actor | None = None) -> MessageRef:
        """Post a card; `private_to` shows it to that person only (ephemeral / 1:1)."""
        ...

    async def update(self, ref: MessageRef, card: Card) -> None:
        """Replace a posted card in place."""
        ...


async def deliver(messenger: Messenger, reply: Reply, reply_to: ReplyTarget, actor: Actor,
                  clicked: MessageRef | None = None) -> list[MessageRef]:
    """Put a handler's reply where it belongs: in place of the clicked card, or as new posts."""
    refs: list[MessageRef] = []
    cards = list(reply.cards)
    if reply.replace and clicked is not None and cards:
        await messenger.update(clicked, cards.pop(0))
        refs.append(clicked)
    for card in cards:
        private_to = actor if reply.visibility == "private" else None
        refs.append(await messenger.post(reply_to, card, private_to=private_to))
    return refs
