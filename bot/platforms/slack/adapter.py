"""The Slack adapter: a slack-bolt AsyncApp mounted at POST /slack/events, and/or Socket Mode.

Every listener writes the request to the inbox and acks (bot/inbox.py); the work (identity,
router, delivery) runs from there, so Slack gets its answer in milliseconds however slow the
handler is, and an acked request survives a crash. Before bolt sees a request, inbound.py checks
its signature (HMAC, 5-minute window) and the shape of its body, and a slash command over HTTP,
which needs nothing else from bolt, is taken in there (listeners.take_command); a resend of a
request already taken in is acked and not run (its trigger or event id is a replay key in the
database, shared by every process: bot/inbox.Replay).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.model import Platform
from bot.platforms.slack import inbound, listeners
from bot.platforms.slack.clients import SlackClients
from bot.platforms.slack.identity import SlackIdentity
from bot.platforms.slack.messenger import ChannelPacer, SlackMessenger
from bot.platforms.slack.retries import PolicyRetries
from bot.settings import SettingsError
from bot.tasks import Tasks

if TYPE_CHECKING:
    from bot.platforms.slack.socket_mode import SocketRunner
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.slack")
DRAIN_SECONDS = 5.0


def check_settings(runtime: Runtime) -> tuple[bool, bool]:
    """(HTTP mode on, Socket Mode on); a half-configured Slack stops start-up with the fix."""
    s = runtime.settings
    http = s.slack_signing_secret is not None
    socket = s.slack_app_token is not None
    if s.slack_bot_token is None or not (http or socket):
        raise SettingsError([
            "DESKHAND_SLACK_*: Slack needs DESKHAND_SLACK_BOT_TOKEN (xoxb-...) plus "
            "DESKHAND_SLACK_SIGNING_SECRET for HTTP mode and/or DESKHAND_SLACK_APP_TOKEN (xapp-...) "
            "for Socket Mode"])
    return http, socket


def browsers_reach(public_url: str) -> bool:
    """Whether people's browsers can open links to `public_url` (https, not a loopback host)."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").lower()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    return parts.scheme == "https" and bool(host) and not loopback


class SlackAdapter:
    platform: Platform = "slack"

    def __init__(self, runtime: Runtime, *, listen: bool = True) -> None:
        """`listen=False` (worker processes): deliver only, never open a Socket Mode connection."""
        self.rt = runtime
        self.http, socket = check_settings(runtime)
        s = runtime.settings
        assert s.slack_bot_token is not None
        self.client = AsyncWebClient(
            token=s.slack_bot_token.get_secret_value(),
            base_url=s.slack_api_url if s.slack_api_url.endswith("/") else s.slack_api_url + "/",
            retry_handlers=[PolicyRetries()])
        self.secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else ""
        # Requests are verified with the current secret, then the previous (a rotation window).
        self.secrets = [v.get_secret_value() for v in (s.slack_signing_secret,
                                                       s.slack_signing_secret_previous) if v]
        # process_before_response: the listeners only store and ack, so running them before the
        # HTTP answer costs nothing and skips bolt's 10 ms polling for the ack. Bolt's own
        # signature check is off: `events` has made it, with the body's shape, before bolt.
        self.app = AsyncApp(
            name="deskhand", client=self.client, signing_secret=self.secret,
            request_verification_enabled=False, process_before_response=True,
            logger=logging.getLogger("deskhand.slack.bolt"))
        self.clients = SlackClients(runtime, self.client)  # and each workspace's own token
        self.identity = SlackIdentity(self.clients)
        self.messenger = SlackMessenger(runtime, self.clients, ChannelPacer(1.0))
        self.socket: SocketRunner | None = None
        if listen and socket and s.slack_app_token:
            from bot.platforms.slack.socket_mode import SocketRunner  # its websocket client: only here

            self.socket = SocketRunner(self.app, s.slack_app_token.get_secret_value())
        if self.socket is not None and not browsers_reach(s.public_url):
            # Slack needs no address in Socket Mode, but the links deskhand hands out do.
            log.warning("Slack Socket Mode is on but DESKHAND_PUBLIC_URL is %s: download links, "
                        "console sign-in links and the TeamViewer sign-in callback point there, and "
                        "people's browsers cannot open them. Set DESKHAND_PUBLIC_URL to the https:// "
                        "address where deskhand is reachable (docs/slack.md)", s.public_url)
        self._after_ack = Tasks("slack", log)  # views.open, notes to the sender
        listeners.register(self)
        runtime.inbox.executors["slack"] = self

    def routes(self, app: web.Application) -> None:
        if self.http:
            app.router.add_post("/slack/events", self.events)

    async def events(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            inbound.verify(request.headers, body, self.secrets)
            command = inbound.check_body(request.content_type, body)
        except inbound.Refused as exc:
            log.warning("Slack request refused with %s: %s", exc.status, exc.reason)
            return web.json_response({"error": exc.reason}, status=exc.status)
        if command is not None:  # acked and stored as bolt's command listener would
            await listeners.take_command(self, command)
            return web.Response(text="")  # bolt's empty ack: Slack shows nothing
        bolt_request = AsyncBoltRequest(body=body.decode(), query=request.query_string,
                                        headers=dict(request.headers))
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run something after the ack in this process (views.open, a note to the sender)."""
        self._after_ack.spawn(coro)

    # The inbox's executor (bot/inbox.Executor): the work behind an acked request.
    async def execute(self, kind: str, payload: dict[str, Any], received: datetime) -> None:
        await listeners.execute(self, kind, payload, received)

    def describe(self, kind: str, payload: dict[str, Any]) -> str:
        return listeners.describe(kind, payload)

    async def notify(self, kind: str, payload: dict[str, Any], title: str, text: str,
                     received: datetime) -> None:
        await listeners.notify(self, kind, payload, title, text, received.timestamp())

    async def wait_idle(self, seconds: float = DRAIN_SECONDS) -> bool:
        """Wait until nothing is stored, queued or running (tests); False if something still is."""
        deadline = time.monotonic() + seconds

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        return await self._after_ack.drain(seconds) and await self.rt.inbox.wait_idle(left()) \
            and await self.rt.dispatch.later.drain(left())

    async def start(self) -> None:
        self.client.session = aiohttp.ClientSession()  # one pool for the Web API and response_urls
        if self.socket is not None:
            await self.socket.start()

    async def stop_intake(self) -> None:
        """Take no more requests (Socket Mode; HTTP stops with the listener), before the inbox
        stops, so nothing is acked that cannot be stored."""
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    async def close(self) -> None:
        await self.stop_intake()
        await self._after_ack.stop(DRAIN_SECONDS)
        if self.client.session is not None:
            await self.client.session.close()
