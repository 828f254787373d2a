"""slack_sdk's retry hook on deskhand's one outbound policy (integrations/http.py).

Every Web API method is a POST, so only what Slack refused before doing any work is tried again:
a connection that failed or was dropped before an answer, 429 and 503, waiting Retry-After when
Slack gives it (longer than the policy allows: not retried) or the policy's backoff otherwise.
A 500 or 502 may have posted the message already, so it is reported, not repeated.
"""

from __future__ import annotations

import asyncio

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from integrations.http import REFUSED_BEFORE_WORK, RetryPolicy

POLICY = RetryPolicy(attempts=4, max_retry_after=30.0, statuses=REFUSED_BEFORE_WORK)
NOT_ANSWERED = (ServerConnectionError, ServerDisconnectedError, ClientOSError)


class PolicyRetries(AsyncRetryHandler):
    def __init__(self, policy: RetryPolicy = POLICY) -> None:
        super().__init__(max_retry_count=policy.attempts - 1)
        self.policy = policy

    def _wait(self, state: RetryState, response: HttpResponse | None) -> float | None:
        if response is None:
            return self.policy.delay(state.current_attempt)
        if response.status_code not in self.policy.statuses:
            return None
        hint = response.headers.get("retry-after") or response.headers.get("Retry-After")
        return self.policy.wait(state.current_attempt, hint[0] if hint else None)

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        if error is not None:
            return isinstance(error, NOT_ANSWERED)
        return response is not None and self._wait(state, response) is not None

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        await asyncio.sleep(self._wait(state, response) or 0.0)
        state.increment_current_attempt()
