"""Console conversation state: a shared room per tenant, private messages, live pushes over
WebSocket.

Kept in memory on purpose: the console is a local tool for one process; workflow state
lives in the database like on every platform. Each tenant has its own room (`room_of`): a
public message is seen in its room only, a private one by its person only.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.adapter import Supports
from bot.audit import redact_text
from bot.model import Actor, MessageRef, Platform, PlatformIdentity, Recipient, ReplyTarget
from cards.console import render
from cards.model import Card

ROOM = "console"  # the deployment's own tenant's room; another tenant's is ROOM:<tenant id>
MAX_MESSAGES = 500


def room_of(tenant_id: int, home: int) -> str:
    return ROOM if tenant_id == home else f"{ROOM}:{tenant_id}"


@dataclass
class ConsoleMessage:
    id: str
    card: dict[str, Any]
    to: int | None  # principal id for a private message, None for the room
    room: str = ROOM
    kind: str = "card"  # "card" from deskhand, "said" for what a person typed
    at: float = field(default_factory=time.time)  # posted (unix seconds); shown as the time

    def seen_by(self, room: str, principal_id: int) -> bool:
        return self.to == principal_id if self.to is not None else self.room == room

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "card": self.card, "private": self.to is not None,
                "kind": self.kind, "at": round(self.at, 3)}


def _principal_id(recipient: Recipient | None) -> int | None:
    """Console accounts are principals: the persona's id is the account's user id."""
    if recipient is None:
        return None
    return recipient.principal.id if isinstance(recipient, Actor) else int(recipient.user_id)


class ConsoleHub:
    platform: Platform = "console"
    supports = Supports(ephemeral=True, uploads=False, modals=False, updates=True)

    def __init__(self) -> None:
        self._messages: OrderedDict[str, ConsoleMessage] = OrderedDict()
        self._sockets: dict[web.WebSocketResponse, tuple[str, int]] = {}  # (room, principal id)
        self._ids = itertools.count(1)

    def join(self, ws: web.WebSocketResponse, room: str,
             principal_id: int) -> list[dict[str, Any]]:
        self._sockets[ws] = (room, principal_id)
        return [m.payload() for m in self._messages.values() if m.seen_by(room, principal_id)]

    def leave(self, ws: web.WebSocketResponse) -> None:
        self._sockets.pop(ws, None)

    async def said(self, actor: Actor, text: str) -> None:
        """Echo what a person typed to them only (a slash command is private in Slack too),
        secrets left out (`integrations set ... password=...`): the echo is kept for replays."""
        card = {"title": actor.principal.display_name, "text": redact_text(text)}
        message = ConsoleMessage(f"m{next(self._ids)}", card, actor.principal.id, kind="said")
        await self._push("message", self._store(message))

    async def post(self, target: ReplyTarget, card: Card, *,
                   private_to: Recipient | None = None) -> MessageRef:
        message = ConsoleMessage(f"m{next(self._ids)}", render(card), _principal_id(private_to),
                                 target.channel)
        await self._push("message", self._store(message))
        return MessageRef("console", target.channel, message.id)

    async def private_place(self, target: ReplyTarget, person: Recipient) -> ReplyTarget | None:
        return target  # a private message reaches only its person's sockets

    async def post_personal(self, account: PlatformIdentity, card: Card) -> MessageRef:
        """A private message: shown to that person's console now and when they open it next."""
        return await self.post(ReplyTarget("console", ROOM), card, private_to=account)

    async def update(self, ref: MessageRef, card: Card) -> None:
        message = self._messages.get(ref.message_id)
        if message is None:
            return  # scrolled out of the console's memory; nothing to update
        message.card = render(card)
        await self._push("update", message)

    async def upload(self, target: ReplyTarget, name: str, body: bytes, *, title: str = "",
                     comment: str = "") -> None:
        raise NotImplementedError("the console offers files as signed download links")

    def message(self, message_id: str, room: str, principal_id: int) -> ConsoleMessage | None:
        """A message this person sees: nobody clicks on another room's or person's card."""
        message = self._messages.get(message_id)
        return message if message is not None and message.seen_by(room, principal_id) else None

    def _store(self, message: ConsoleMessage) -> ConsoleMessage:
        self._messages[message.id] = message
        while len(self._messages) > MAX_MESSAGES:
            self._messages.popitem(last=False)
        return message

    async def _push(self, kind: str, message: ConsoleMessage) -> None:
        data = {"type": kind, "message": message.payload()}
        sends = [ws.send_json(data) for ws, (room, pid) in list(self._sockets.items())
                 if not ws.closed and message.seen_by(room, pid)]
        await asyncio.gather(*sends, return_exceptions=True)

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()
