"""Outbound calls to the Bot Connector: per-conversation pacing and bounded retries.

Teams rate-limits every bot per thread (1:1 chat, group chat or channel): 7 sends per second,
8 per 2 s, 60 per 30 s. The pacer keeps each conversation under those windows; 429/412/502/
503/504 answers are retried by the shared outbound policy (integrations/http.py: Retry-After
honoured, bounded tries), then reported. botbuilder has no retry of its own and msrest's
built-in one ignores 429, so `quiet()` turns the latter off for every connector we use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.core import BotAdapter, TurnContext
from msrest.exceptions import ClientRequestError, HttpOperationError
from urllib3.util.retry import Retry

from bot.adapter import PlatformRefused
from integrations.http import RetryPolicy

log = logging.getLogger("deskhand.teams")
T = TypeVar("T")
# 412: the connector's "precondition failed" under load, as retryable as 429 (platforms.md).
POLICY = RetryPolicy(attempts=4, backoff=1.0, max_backoff=8.0, max_retry_after=30.0,
                     statuses=frozenset({412, 429, 502, 503, 504}))
WINDOWS = ((7, 1.0), (8, 2.0), (60, 30.0))
CONNECT_TIMEOUT = 15


class DeliveryError(PlatformRefused):
    """The Bot Connector refused a call for good, or kept refusing it; `status` says how."""

    def __init__(self, what: str, status: int | None, detail: str = "") -> None:
        super().__init__(f"{what} failed" + (f": HTTP {status}" if status else "")
                         + (f" {detail}" if detail else ""))
        self.status = status


def connector_of(ctx: TurnContext) -> Any:
    """The ConnectorClient botbuilder opened for this turn (authenticated for its serviceUrl)."""
    return ctx.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]


def quiet(connector: Any) -> None:
    """No hidden urllib3 retries and a bounded timeout on a botbuilder ConnectorClient."""
    connector.config.retry_policy.policy = Retry(total=0, raise_on_status=False)
    connector.config.connection.timeout = CONNECT_TIMEOUT


class Pacer:
    def __init__(self, windows: tuple[tuple[int, float], ...] = WINDOWS) -> None:
        self._windows = windows
        self._span = max(span for _, span in windows)
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, key: str) -> None:
        """Return when one more send to `key` stays inside every window; records it."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            sent = self._sent.setdefault(key, deque())
            while True:
                now = time.monotonic()
                while sent and now - sent[0] >= self._span:
                    sent.popleft()
                delay = 0.0
                for limit, span in self._windows:
                    recent = [t for t in sent if now - t < span]
                    if len(recent) >= limit:
                        delay = max(delay, span - (now - recent[-limit]))
                if delay <= 0:
                    sent.append(now)
                    break
                await asyncio.sleep(delay)
        if len(self._sent) > 5000:  # forget idle conversations
            for k in [k for k, q in self._sent.items() if not q and not self._locks[k].locked()]:
                self._sent.pop(k, None)
                self._locks.pop(k, None)


class Delivery:
    def __init__(self, pacer: Pacer | None = None, policy: RetryPolicy = POLICY) -> None:
        self.pacer = pacer or Pacer()
        self.policy = policy

    async def call(self, what: str, op: Callable[[], Awaitable[T]], pace: str | None = None) -> T:
        """Run `op` (one connector call), paced on `pace` if given, retrying transient refusals."""
        for attempt in range(self.policy.attempts):
            if pace is not None:
                await self.pacer.wait(pace)
            try:
                return await op()
            except HttpOperationError as exc:
                status = getattr(exc.response, "status_code", None)
                last = attempt == self.policy.attempts - 1
                headers = getattr(exc.response, "headers", None) or {}
                wait = None if last or status not in self.policy.statuses else \
                    self.policy.wait(attempt, headers.get("Retry-After"))
                if wait is None:
                    raise DeliveryError(what, status, _code(exc)) from None
                log.info("%s: HTTP %s, retry %d in %.1fs", what, status, attempt + 1, wait)
                await asyncio.sleep(wait)
            except ClientRequestError as exc:  # not sent, or no answer: not safe to repeat a post
                raise DeliveryError(what, None, f"({type(exc).__name__})") from None
        raise AssertionError("unreachable")


def _code(exc: HttpOperationError) -> str:
    """The connector's error code (e.g. MessageWritesBlocked), never a body dump."""
    try:
        body = exc.response.json()
    except Exception:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", ""))[:80] if isinstance(error, dict) else ""
