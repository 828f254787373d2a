"""The one outbound HTTP policy: timeouts, bounded retries honouring Retry-After, typed errors.

Every vendor client, the Slack Web API client and the Teams Bot Connector calls retry by a
`RetryPolicy` and wait by `RetryPolicy.wait` (Retry-After when the server gives one, else an
exponential step with jitter). A vendor client builds its `httpx.AsyncClient` with `new_client`
and sends through `send`, which retries only what is safe to retry:

* connect errors (the request never left): always;
* 429 (honouring `Retry-After`) and 503: always, the vendor refused before doing anything;
* other retryable statuses (502/504 by default) and read timeouts: only for idempotent methods.
  A POST that got one of those may have been applied, so `send` hands the response (or a
  `VendorError` with `maybe_applied`) back and the client decides, e.g. by looking first.

Nothing here logs headers, bodies or query strings: tokens travel in all three.

httpx is imported where a client is made or used, never at module level (here or in a vendor
client): a process that calls no vendor, such as a listener whose workers run the commands,
never loads it (~1.2 MiB).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("deskhand.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REFUSED_BEFORE_WORK = frozenset({429, 503})  # safe to resend whatever the method
_BEARER = re.compile(r"(Bearer\s+)\S+", re.I)


class Cause(StrEnum):
    """Why a vendor call failed, which decides what deskhand does next."""

    AUTH = "auth"  # deskhand's credentials were refused, or there are none: an admin must act
    NOT_FOUND = "not_found"  # the vendor does not know the object (any more)
    RATE_LIMITED = "rate_limited"  # too many requests: try again later
    UNAVAILABLE = "unavailable"  # no answer, a timeout, a gateway or overload: try again later
    REJECTED = "rejected"  # the vendor refused or failed this very request (4xx, a 500)


def cause_of(status: int | None) -> Cause:
    if status is None or status in (502, 503, 504):
        return Cause.UNAVAILABLE
    if status in (401, 403):
        return Cause.AUTH
    if status in (404, 410):
        return Cause.NOT_FOUND
    if status == 429:
        return Cause.RATE_LIMITED
    return Cause.REJECTED


class VendorError(Exception):
    """A vendor call failed. `message` is for the person in chat: plain, and free of secrets.

    `cause` (from the HTTP status unless the client knows better) is what callers branch on."""

    def __init__(self, vendor: str, status: int | None, code: str, message: str,
                 correlation_id: str, *, maybe_applied: bool = False, attempts: int = 1,
                 cause: Cause | None = None) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status
        self.code = code
        self.message = message
        self.correlation_id = correlation_id
        self.maybe_applied = maybe_applied  # the request may have reached the vendor
        self.attempts = attempts
        self.cause = cause or cause_of(status)

    @property
    def transient(self) -> bool:
        """Worth trying again later, unchanged."""
        return self.cause in (Cause.UNAVAILABLE, Cause.RATE_LIMITED)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (f"VendorError({self.vendor!r}, {self.status!r}, {self.code!r}, {self.cause.value}, "
                f"ref={self.correlation_id!r})")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove bearer values and any known secret from vendor-supplied text."""
    text = _BEARER.sub(r"\1[redacted]", text)
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "[redacted]")
    return text


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total tries, the first included
    backoff: float = 0.25  # first wait in seconds; doubles per try
    max_backoff: float = 4.0
    max_retry_after: float = 30.0  # a longer Retry-After is not waited out in a chat command
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Exponential step with jitter in its upper half, so retries from replicas spread out."""
        step = min(self.max_backoff, self.backoff * 2 ** attempt)
        return step / 2 + rng() * step / 2

    def wait(self, attempt: int, retry_after_header: str | None) -> float | None:
        """Seconds before try `attempt + 2`: the server's Retry-After if it gave one, else the
        backoff. None when the server asks for longer than a person would wait in chat."""
        hinted = parse_retry_after(retry_after_header)
        if hinted is None:
            return self.delay(attempt)
        return None if hinted > self.max_retry_after else max(hinted, 0.05)


DEFAULT_POLICY = RetryPolicy()


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a response's `Retry-After` header; None if absent or unreadable."""
    return parse_retry_after(response.headers.get("Retry-After"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` value (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)  # RFC 9110 says whole seconds; some servers send fractions
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@functools.cache
def _tls() -> ssl.SSLContext:
    """The default TLS context (certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR), made once:
    loading the roots costs tens of milliseconds, and clients are made per command and per sync
    source. A context is safe to share between clients."""
    import httpx

    return httpx.create_ssl_context()


def new_client(base_url: str = "", *, headers: dict[str, str] | None = None, timeout: float = 15.0,
               connect_timeout: float = 5.0, max_connections: int = 50,
               transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An AsyncClient with bounded timeouts and pool; redirects are never followed silently.
    Without a base URL every request names its own (token and key endpoints)."""
    import httpx

    return httpx.AsyncClient(
        base_url=base_url if not base_url or base_url.endswith("/") else base_url + "/",
        headers={"User-Agent": "deskhand/0.1", "Accept": "application/json", **(headers or {})},
        timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections // 2),
        transport=transport, follow_redirects=False, verify=_tls())


def attempts_of(response: httpx.Response) -> int:
    """How many tries `send` spent to get this response."""
    return int(response.extensions.get("deskhand_attempts", 1))


def _path(url: str | httpx.URL) -> str:
    return urlsplit(str(url)).path


async def send(client: httpx.AsyncClient, method: str, url: str, *, vendor: str,
               correlation_id: str, policy: RetryPolicy = DEFAULT_POLICY,
               give_up: Callable[[httpx.Response], bool] | None = None,
               sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
               **kwargs: Any) -> httpx.Response:
    """Send with bounded retries and return the last response, whatever its status.

    Raises VendorError only when no usable response came back (unreachable, timed out).
    `give_up(response)` may stop retrying a retryable status (a limit waiting won't fix).
    """
    import httpx

    not_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    maybe_sent = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError,
                  httpx.RemoteProtocolError)
    method = method.upper()
    idempotent = method in IDEMPOTENT
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            response = await client.request(method, url, **kwargs)
        except not_sent as exc:
            if last:
                raise VendorError(vendor, None, "unreachable",
                                  f"{vendor} could not be reached ({type(exc).__name__}) after "
                                  f"{policy.attempts} tries.", correlation_id,
                                  attempts=attempt + 1) from None
            wait = policy.delay(attempt)
            reason = type(exc).__name__
        except maybe_sent as exc:
            if last or not idempotent:
                raise VendorError(vendor, None, "timeout",
                                  f"{vendor} did not answer in time ({type(exc).__name__}).",
                                  correlation_id, maybe_applied=not idempotent,
                                  attempts=attempt + 1) from None
            wait = policy.delay(attempt)
            reason = type(exc).__name__
        else:
            status = response.status_code
            response.extensions["deskhand_attempts"] = attempt + 1
            log.debug("%s %s %s: HTTP %s (ref %s)", vendor, method, _path(client.base_url.join(url)),
                      status, correlation_id)
            if (last or status not in policy.statuses
                    or (not idempotent and status not in REFUSED_BEFORE_WORK)
                    or (give_up is not None and give_up(response))):
                return response
            hint = response.headers.get("Retry-After") if status in REFUSED_BEFORE_WORK else None
            waited = policy.wait(attempt, hint)
            if waited is None:
                return response  # the caller explains the wait; a chat user won't sit it out
            wait = waited
            reason = f"HTTP {status}"
        log.warning("%s %s %s: %s; retry %d of %d in %.2fs (ref %s)", vendor, method,
                    _path(client.base_url.join(url)), reason, attempt + 1, policy.attempts - 1,
                    wait, correlation_id)
        await sleep(wait)
    raise AssertionError("unreachable: the last attempt always returns or raises")
