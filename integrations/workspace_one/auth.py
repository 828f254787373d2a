"""How deskhand signs in to Workspace ONE (integrations.md 3.1).

* `BasicAuth`: `Authorization: Basic` of an API admin account, beside the `aw-tenant-code`
  header every call carries (the client adds it).
* `ClientCredentials`: OAuth client credentials against the tenant's regional token URL
  (`https://<region>.uemauth.workspaceone.com/connect/token`, or the older `vmwservices.com`
  hosts; any URL is accepted, since a private or test token endpoint is valid too). The token is
  kept in memory, fetched again shortly before it expires, and after a 401 once.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from integrations.http import Cause, RetryPolicy, VendorError, scrub, send

if TYPE_CHECKING:
    import httpx

VENDOR = "Workspace ONE"
REGION_TOKEN_URLS = {
    "uat": "https://uat.uemauth.workspaceone.com/connect/token",
    "na": "https://na.uemauth.workspaceone.com/connect/token",  # US, Canada
    "emea": "https://emea.uemauth.workspaceone.com/connect/token",  # UK, Germany
    "apac": "https://apac.uemauth.workspaceone.com/connect/token",  # India, Japan, Singapore
}
REFRESH_MARGIN = 300.0  # seconds before expiry when a token is fetched again
TOKEN_POLICY = RetryPolicy(attempts=3)  # a token request changes nothing: resending it is safe


class Auth(Protocol):
    mode: str  # "basic" | "oauth"

    async def authorization(self, correlation_id: str) -> str:
        """The `Authorization` header's value."""
        ...

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        """A fresh header after a 401 on `rejected`; None when this auth cannot refresh."""
        ...

    def known_secrets(self) -> list[str]: ...


class BasicAuth:
    mode = "basic"

    def __init__(self, username: str, password: str) -> None:
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self._password = password

    async def authorization(self, correlation_id: str) -> str:
        return self._header

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        return None

    def known_secrets(self) -> list[str]:
        return [self._password, self._header.removeprefix("Basic ")]


class ClientCredentials:
    mode = "oauth"

    def __init__(self, token_url: str, client_id: str, client_secret: str, http: httpx.AsyncClient,
                 *, policy: RetryPolicy = TOKEN_POLICY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_url = REGION_TOKEN_URLS.get(token_url.strip().lower(), token_url)
        self.client_id, self._secret = client_id, client_secret
        self.http, self.policy, self._clock = http, policy, clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.fetched = 0  # tokens fetched so far

    async def authorization(self, correlation_id: str) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires:
                await self._fetch(correlation_id)
            assert self._token is not None
            return f"Bearer {self._token}"

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        async with self._lock:
            if self._token is None or f"Bearer {self._token}" == rejected:
                await self._fetch(correlation_id)  # else another call refreshed it meanwhile
            return f"Bearer {self._token}"

    def known_secrets(self) -> list[str]:
        return [self._secret] + ([self._token] if self._token else [])

    async def _fetch(self, cid: str) -> None:
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret}
        try:
            response = await send(self.http, "POST", self.token_url, vendor=VENDOR,
                                  correlation_id=cid, policy=self.policy, data=form,
                                  headers={"Accept": "application/json"})
        except VendorError as exc:  # a token request changes nothing: never "maybe applied"
            raise VendorError(VENDOR, None, exc.code, (
                f"{VENDOR}'s token endpoint could not be reached or did not answer; try again "
                "in a few minutes."), cid, attempts=exc.attempts, cause=Cause.UNAVAILABLE) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise self._refused(response, body if isinstance(body, dict) else {}, cid)
        lifetime = float(body.get("expires_in") or 3600)
        self._token = str(body["access_token"])
        # Fetched again before it lapses: 5 minutes early, or at 90% of a shorter lifetime.
        self._expires = self._clock() + lifetime - min(REFRESH_MARGIN, lifetime / 10)
        self.fetched += 1

    def _refused(self, response: httpx.Response, body: dict[str, object], cid: str) -> VendorError:
        status = response.status_code
        said = scrub(str(body.get("error_description") or body.get("error") or ""),
                     [self._secret])[:200]
        if status in (400, 401, 403):
            return VendorError(VENDOR, status, str(body.get("error") or "invalid_client")[:64], (
                f"{VENDOR} refused deskhand's OAuth client ({said or f'HTTP {status}'}). An "
                "administrator should check the client id and secret, and that the token URL is "
                "the tenant's region."), cid, cause=Cause.AUTH)
        return VendorError(VENDOR, status, "token_endpoint", (
            f"{VENDOR}'s token endpoint did not give a token (HTTP {status}); try again in a few "
            "minutes."), cid, cause=Cause.UNAVAILABLE if status >= 500 or status == 429 else None)
