"""The contract every chat platform meets: what it can do, its routes, start and stop, its messenger.

Slack, Teams and the local console each implement `Adapter`; the runtime starts, stops and
mounts them through this contract only, and handlers see just the `Messenger` and its
`Supports`, never a platform type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.model import MessageRef, Platform, PlatformIdentity, Recipient, ReplyTarget
from cards.model import Card

if TYPE_CHECKING:
    from aiohttp import web


class PlatformRefused(Exception):
    """The chat platform would not take a post or update (the bot is not in that channel, the
    app was removed, the rate-limit retries are spent): an operational fact, not a bug."""


@dataclass(frozen=True)
class Supports:
    """What a platform can do, so a handler can choose without naming the platform."""

    ephemeral: bool  # a reply only its asker sees, inside a shared conversation
    uploads: bool  # a file posted into the conversation
    modals: bool  # a pop-up form (else inputs ride on the card itself)
    updates: bool  # a posted card replaced in place


class Messenger(Protocol):
    platform: Platform
    supports: Supports

    async def post(self, target: ReplyTarget, card: Card, *,
                   private_to: Recipient | None = None) -> MessageRef:
        """Post a card; `private_to` shows it to that person only (ephemeral / 1:1)."""
        ...

    async def private_place(self, target: ReplyTarget, person: Recipient) -> ReplyTarget | None:
        """Where a reply only `person` sees goes from `target`: in place (ephemeral, or a 1:1
        chat already), their 1:1 chat, or None when there is no such place (so a secret, like
        a sign-in link, must not be sent)."""
        ...

    async def post_personal(self, account: PlatformIdentity, card: Card) -> MessageRef:
        """Post to the person's own chat with deskhand without being asked first (a reminder):
        a Slack DM, a Teams 1:1 chat (created through the connector when none is stored), a
        console private message. Raises PlatformRefused when that chat cannot be reached."""
        ...

    async def update(self, ref: MessageRef, card: Card) -> None:
        """Replace a posted card in place."""
        ...

    async def upload(self, target: ReplyTarget, name: str, body: bytes, *, title: str,
                     comment: str) -> None:
        """Post a file into the conversation (only where `supports.uploads`)."""
        ...


class Adapter(Protocol):
    platform: Platform

    @property
    def messenger(self) -> Messenger: ...

    def routes(self, app: web.Application) -> None:
        """Add the platform's HTTP routes (none for Socket Mode)."""
        ...

    async def start(self) -> None:
        """Connect what needs connecting (Slack Socket Mode), after the runtime started."""
        ...

    async def stop_intake(self) -> None:
        """Take no more requests; what was acked is still stored and run."""
        ...

    async def close(self) -> None:
        """Finish or cancel the adapter's own background work and close its clients."""
        ...
