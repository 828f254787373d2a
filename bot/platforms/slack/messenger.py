"""Post and update cards in Slack: chat.* through a per-channel queue, or the request's response_url.

Each call goes with the bot token of the target's workspace (bot/platforms/slack/clients.py);
what is posted keeps the workspace, so a later update goes with the same token.

Slack allows about one chat.postMessage per second per channel; the pacer hands out send slots in
call order. 429s and 503s are retried by the shared outbound policy (bot/platforms/slack/retries.py,
bounded count) which the adapter installs on the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.adapter import PlatformRefused, Supports
from bot.model import Actor, MessageRef, Platform, PlatformIdentity, Recipient, ReplyTarget, own_account
from bot.platforms.slack.clients import SlackClients, workspace_of
from bot.platforms.slack.webhook import post_response
from cards.blockkit import SlackMessage, render
from cards.model import Card
from storage.directory import DirectoryRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.slack")
NOT_MEMBER = {"not_in_channel", "channel_not_found"}  # the bot can't post here; response_url can
RESPONSE_URL_USES = 5  # Slack: up to 5 responses within 30 minutes
RESPONSE_URL_AGE = 29 * 60


class ChannelPacer:
    """Per-channel FIFO pacing: every send takes the next free slot, `interval` seconds apart."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = time.monotonic()
        slot = max(now, self._next.get(channel, 0.0))
        self._next[channel] = slot + self.interval
        if len(self._next) > 1000:  # forget idle channels
            self._next = {c: t for c, t in self._next.items() if t > now}
        if slot > now:
            await asyncio.sleep(slot - now)


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


@contextmanager
def _refusals(what: str) -> Iterator[None]:
    """Slack's refusals, as the platform refusal every adapter reports (bot/adapter.py)."""
    try:
        yield
    except SlackApiError as exc:
        raise PlatformRefused(f"Slack refused the {what}: {_error(exc) or exc}") from exc


class SlackMessenger:
    platform: Platform = "slack"
    supports = Supports(ephemeral=True, uploads=True, modals=True, updates=True)

    def __init__(self, runtime: Runtime, clients: SlackClients, pacer: ChannelPacer) -> None:
        self.rt = runtime
        self.clients = clients
        self.client = clients.default  # response_urls: its session and retry policy
        self.pacer = pacer
        self._url_uses: OrderedDict[str, int] = OrderedDict()

    async def post(self, target: ReplyTarget, card: Card, *,
                   private_to: Recipient | None = None) -> MessageRef:
        message = render(card)
        with _refusals("post"):
            if private_to is not None and not target.extra.get("im"):  # in a DM all is private
                return await self.post_private(target, await self._slack_user(private_to), message)
            return await self.post_public(target, message)

    async def post_public(self, target: ReplyTarget, message: SlackMessage) -> MessageRef:
        client = await self.clients.of(target.extra)
        where = workspace_of(target.extra)
        await self.pacer.wait(target.channel)
        try:
            resp = await client.chat_postMessage(
                channel=target.channel, text=message.text, blocks=message.blocks,
                thread_ts=target.thread, unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            url = self._usable_url(target)
            if _error(exc) in NOT_MEMBER and url and await self._respond(
                    url, message, response_type="in_channel"):
                return MessageRef("slack", target.channel, "", extra={"response_url": url, **where})
            raise
        return MessageRef("slack", str(resp["channel"]), str(resp["ts"]),
                          extra={"thread_ts": target.thread, **where})

    async def post_private(self, target: ReplyTarget, user_id: str, message: SlackMessage) -> MessageRef:
        """Ephemeral: by the request's response_url while it is usable, else chat.postEphemeral."""
        url = self._usable_url(target)
        where = workspace_of(target.extra)
        if url and await self._respond(url, message, response_type="ephemeral"):
            return MessageRef("slack", target.channel, "",
                              extra={"response_url": url, "ephemeral": True, "user": user_id,
                                     **where})
        client = await self.clients.of(target.extra)
        resp = await client.chat_postEphemeral(
            channel=target.channel, user=user_id, text=message.text, blocks=message.blocks,
            thread_ts=target.thread)
        return MessageRef("slack", target.channel, str(resp.get("message_ts", "")),
                          extra={"ephemeral": True, "user": user_id, **where})

    async def private_place(self, target: ReplyTarget, person: Recipient) -> ReplyTarget | None:
        return target  # ephemeral in place, and a DM is private already

    async def post_personal(self, account: PlatformIdentity, card: Card) -> MessageRef:
        """chat.postMessage to a user id posts in the app's DM with them (Slack opens it), with
        the token of the workspace the account is in (an org-wide install's when it is an org)."""
        team = account.platform_tenant
        where = {"org": team} if team.startswith("E") else {"team": team}
        with _refusals("personal message"):
            return await self.post_public(ReplyTarget("slack", account.user_id, extra=where),
                                          render(card))

    async def update(self, ref: MessageRef, card: Card) -> None:
        """chat.update by channel+ts; ephemeral cards (no usable ts) only through response_url."""
        message = render(card)
        with _refusals("update"):
            await self._update(ref, message)

    async def _update(self, ref: MessageRef, message: SlackMessage) -> None:
        url = ref.extra.get("response_url")
        if ref.extra.get("ephemeral") or not ref.message_id:
            if url and await self._respond(url, message, replace_original=True):
                return
            raise PlatformRefused("this Slack card can only be replaced through a response_url, "
                                  "and none is usable any more")
        client = await self.clients.of(ref.extra)
        try:
            await client.chat_update(channel=ref.channel, ts=ref.message_id, text=message.text,
                                     blocks=message.blocks)
        except SlackApiError as exc:
            if url and await self._respond(url, message, replace_original=True):
                return
            log.warning("chat.update %s/%s failed: %s", ref.channel, ref.message_id, _error(exc))
            raise

    async def upload(self, target: ReplyTarget, name: str, body: bytes, *, title: str = "",
                     comment: str = "") -> None:
        """Share a file (CSV/XLSX export) through files.getUploadURLExternal + completeUploadExternal."""
        with _refusals("upload"):
            client = await self.clients.of(target.extra)
            await client.files_upload_v2(
                channel=target.channel, thread_ts=target.thread, filename=name, content=body,
                title=title or name, initial_comment=comment or None)

    def _usable_url(self, target: ReplyTarget) -> str | None:
        url = target.extra.get("response_url")
        received = target.extra.get("received", 0.0)
        if not url or not isinstance(received, int | float) or time.time() - received > RESPONSE_URL_AGE:
            return None
        return url if self._url_uses.get(url, 0) < RESPONSE_URL_USES else None

    async def _respond(self, url: str, message: SlackMessage, **kw: Any) -> bool:
        self._url_uses[url] = self._url_uses.get(url, 0) + 1
        self._url_uses.move_to_end(url)
        while len(self._url_uses) > 10_000:
            self._url_uses.popitem(last=False)
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession()  # the adapter's start opens it
        try:
            status, body = await post_response(self.client.session, url, {
                "text": message.text, "blocks": message.blocks, **kw})
        except Exception as exc:  # network trouble: the caller falls back to the Web API
            log.warning("response_url failed: %s", type(exc).__name__)
            return False
        if status != 200:
            log.warning("response_url answered %s: %s", status, body[:200])
        return status == 200

    async def _slack_user(self, recipient: Recipient) -> str:
        own = own_account(recipient, "slack")
        if own is not None:
            return own
        if isinstance(recipient, Actor):
            async with self.rt.db.uow() as uow:
                for link in await uow.repo(DirectoryRepo).identities_of(recipient.principal.id):
                    if link.platform == "slack":
                        return link.platform_user_id
        raise PlatformRefused(f"{recipient} has no linked Slack account")
