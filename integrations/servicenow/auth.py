"""ServiceNow sign-in (integrations.md 4.1): Basic, or OAuth tokens from `oauth_token.do`.

OAuth takes the resource-owner password grant (documented on every release) or the
client-credentials grant (newer releases only, so it is a choice, not a default). Tokens live in
memory: a replica that restarts asks for a new one, which either grant allows. A token is renewed
a minute before it expires (refresh grant first, the original grant when the refresh token is
refused) and once after a 401, since an instance admin can shorten lifespans at any time.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from integrations.http import Cause, RetryPolicy, VendorError, send

if TYPE_CHECKING:
    import httpx

VENDOR = "ServiceNow"
TOKEN_PATH = "oauth_token.do"
DEFAULT_LIFETIME = 1800  # seconds, the out-of-box access token lifespan (instances vary)
MARGIN = 60.0  # renew this long before expiry
Grant = Literal["password", "client_credentials"]


class Auth(Protocol):
    mode: str

    async def header(self, cid: str) -> str:
        """The Authorization header value for the next call."""
        ...

    async def renew(self, rejected: str, cid: str) -> str | None:
        """A new header after a 401 on `rejected`; None when this sign-in cannot renew."""
        ...

    def known_secrets(self) -> list[str]: ...


class BasicAuth:
    mode = "basic"

    def __init__(self, username: str, password: str) -> None:
        self._secret = password
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    async def header(self, cid: str) -> str:
        return self._header

    async def renew(self, rejected: str, cid: str) -> str | None:
        return None

    def known_secrets(self) -> list[str]:
        return [self._secret, self._header[6:]]


@dataclass(frozen=True)
class OAuthSettings:
    client_id: str
    client_secret: str
    grant: Grant = "password"
    username: str = ""  # password grant only
    password: str = ""
    token_path: str = TOKEN_PATH  # relative to the instance root


@dataclass
class _Token:
    access: str
    refresh: str
    expires_at: float


class OAuthAuth:
    mode = "oauth"

    def __init__(self, settings: OAuthSettings, http: httpx.AsyncClient, policy: RetryPolicy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if settings.grant == "password" and not settings.username:
            raise ValueError("the ServiceNow password grant needs a username and password")
        self.settings, self.http, self.policy = settings, http, policy
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.grants: list[str] = []  # grant types asked for, oldest first (tests, diagnostics)

    def known_secrets(self) -> list[str]:
        s = self.settings
        held = [s.client_secret, s.password]
        if self._token is not None:
            held += [self._token.access, self._token.refresh]
        return held

    async def header(self, cid: str) -> str:
        token = self._token
        if token is None or token.expires_at - self._clock() < MARGIN:
            token = await self._renew(token, cid)
        return f"Bearer {token.access}"

    async def renew(self, rejected: str, cid: str) -> str | None:
        current = self._token
        if current is not None and f"Bearer {current.access}" != rejected:
            return f"Bearer {current.access}"  # another call renewed it meanwhile
        return f"Bearer {(await self._renew(current, cid, force=True)).access}"

    async def _renew(self, seen: _Token | None, cid: str, *, force: bool = False) -> _Token:
        async with self._lock:  # one grant at a time; the others use its token
            token = self._token
            if token is not None and token is not seen:
                return token
            if token is not None and not force and token.expires_at - self._clock() >= MARGIN:
                return token
            fresh = None
            if token is not None and token.refresh:
                fresh = await self._grant({"grant_type": "refresh_token",
                                           "refresh_token": token.refresh}, cid, quiet=True)
            if fresh is None:
                fresh = await self._grant(self._first_grant(), cid, quiet=False)
            assert fresh is not None
            self._token = fresh
            return fresh

    def _first_grant(self) -> dict[str, str]:
        s = self.settings
        if s.grant == "client_credentials":
            return {"grant_type": "client_credentials"}
        return {"grant_type": "password", "username": s.username, "password": s.password}

    async def _grant(self, fields: dict[str, str], cid: str, *, quiet: bool) -> _Token | None:
        """A token from `oauth_token.do` (form-encoded: JSON is refused there). A refused
        refresh (`quiet`) returns None so the caller falls back to the original grant."""
        s = self.settings
        self.grants.append(fields["grant_type"])
        form = {**fields, "client_id": s.client_id, "client_secret": s.client_secret}
        response = await send(self.http, "POST", s.token_path, vendor=VENDOR, correlation_id=cid,
                              policy=self.policy, data=form)
        data = _json(response)
        access = data.get("access_token")
        if response.status_code == 200 and isinstance(access, str) and access:
            try:
                lifetime = float(data.get("expires_in") or DEFAULT_LIFETIME)
            except (TypeError, ValueError):
                lifetime = DEFAULT_LIFETIME
            return _Token(access, str(data.get("refresh_token") or ""), self._clock() + lifetime)
        if quiet and response.status_code in (400, 401):
            return None
        status = response.status_code
        if status in (400, 401, 403):
            who = ("the OAuth client id and secret" if s.grant == "client_credentials"
                   else "the OAuth client id and secret, and the integration user's password")
            text = (f"ServiceNow refused deskhand's OAuth sign-in (HTTP {status}). An administrator "
                    f"should check {who}" + (", and that this instance allows the "
                                             "client-credentials grant." if s.grant ==
                                             "client_credentials" else "."))
            cause: Cause | None = Cause.AUTH
        elif status == 429:
            text, cause = "ServiceNow is rate limiting deskhand's sign-in; try again in a minute.", None
        else:
            text, cause = (f"ServiceNow's token endpoint answered HTTP {status}; try again in a "
                           "few minutes.", None)
        code = str(data.get("error") or f"http_{status}")[:64]
        raise VendorError(VENDOR, status, code, text, cid, cause=cause)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
