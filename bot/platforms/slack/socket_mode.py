"""Socket Mode: Slack delivers over a WebSocket the app opens, so no public Request URL is needed.

Connecting runs in the background so health endpoints and other platforms come up even while
Slack is unreachable or the app token is wrong; the log says what to fix and retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

log = logging.getLogger("deskhand.slack")


class SocketRunner:
    def __init__(self, app: AsyncApp, app_token: str, *, max_delay: float = 300.0) -> None:
        self.app = app
        self._token = app_token
        self.max_delay = max_delay
        self.handler: AsyncSocketModeHandler | None = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Built here, inside the running loop: the handler opens an aiohttp session at once.
        self.handler = AsyncSocketModeHandler(self.app, self._token,
                                              logger=logging.getLogger("deskhand.slack.socket"))
        self._task = asyncio.create_task(self._connect(self.handler))

    async def _connect(self, handler: AsyncSocketModeHandler) -> None:
        delay = 2.0
        while True:
            try:
                # Ask for the wss URL ourselves first: the SDK's connect() retries bad tokens forever.
                handler.client.wss_uri = await handler.client.issue_new_wss_url()
                await handler.connect_async()
                self.connected.set()
                log.info("Slack Socket Mode connected")
                return
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else "unknown"
                log.error("Slack Socket Mode cannot connect (%s): DESKHAND_SLACK_APP_TOKEN must be an "
                          "app-level xapp- token with the connections:write scope; retrying in %.0fs",
                          error, delay)
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("Slack Socket Mode: Slack unreachable (%s); retrying in %.0fs",
                            type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.handler is not None:
            await self.handler.close_async()
