"""Posting a card to a request's response_url: one JSON POST on the adapter's shared session,
retried by the same policy as the Web API client (bot/platforms/slack/retries.py): a connection
that failed before an answer, 429 and 503, waiting Retry-After when Slack gives one.

slack_sdk's webhook client did the same through its generic request and retry objects, which
cost a command more CPU than the POST itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from bot.platforms.slack.retries import NOT_ANSWERED, POLICY
from integrations.http import RetryPolicy

HEADERS = {"Content-Type": "application/json;charset=utf-8", "User-Agent": "deskhand"}
TIMEOUT = aiohttp.ClientTimeout(total=30)  # slack_sdk's webhook default


async def post_response(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                        policy: RetryPolicy = POLICY) -> tuple[int, str]:
    """(HTTP status, body text) of Slack's final answer; raises what the last try raised when no
    answer came (the caller falls back to the Web API)."""
    data = orjson.dumps({k: v for k, v in body.items() if v is not None})
    attempt = 0
    while True:
        last = attempt + 1 >= policy.attempts
        try:
            async with session.post(url, data=data, headers=HEADERS, timeout=TIMEOUT) as resp:
                status, text, hint = resp.status, await resp.text(), resp.headers.get("Retry-After")
        except NOT_ANSWERED:
            if last:
                raise
            await asyncio.sleep(policy.delay(attempt))
        else:
            wait = None if last or status not in policy.statuses else policy.wait(attempt, hint)
            if wait is None:
                return status, text
            await asyncio.sleep(wait)
        attempt += 1
