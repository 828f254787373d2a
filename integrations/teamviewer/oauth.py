"""TeamViewer OAuth (integrations.md 1.2): the connect link, the callback, tokens that refresh.

PKCE (S256) is sent alongside the client secret: TeamViewer's support for it is unconfirmed and
a server that ignores it loses nothing. Tokens rotate on every refresh; the new refresh token
replaces the old one under a version check, so two replicas refreshing at once cannot leave a
used-up refresh token behind. Where tokens and pending sign-ins are kept (sealed at rest, leased
across replicas) is the owner's `TokenStore`: this module sees plain values only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from integrations.http import Cause, RetryPolicy, VendorError, send
from integrations.teamviewer.client import POLICY, VENDOR

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("deskhand.teamviewer")
REFRESH_MARGIN = timedelta(minutes=5)  # refresh this long before expiry, not after a failure
STATE_TTL = timedelta(minutes=10)
LEASE_TTL, LEASE_WAIT = timedelta(seconds=30), 10.0
NOT_CONNECTED = ("TeamViewer is not connected yet: an administrator runs `teamviewer connect` "
                 "and signs in with the link it gives.")


class ConnectRefused(Exception):
    """The callback cannot complete a connect; the message is shown on the browser page."""


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str
    authorize_url: str
    redirect_uri: str
    token_path: str = "oauth2/token"  # relative to the API base (…/api/v1/oauth2/token)


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str
    expires_at: datetime
    version: int

    @property
    def due(self) -> bool:
        return self.expires_at - datetime.now(UTC) < REFRESH_MARGIN


@dataclass(frozen=True)
class PendingSignIn:
    """A `teamviewer connect` waiting for its callback."""

    principal_id: int
    verifier: str
    expires_at: datetime


class TokenStore(Protocol):
    """One tenant's TeamViewer sign-in, kept by the capability that owns it (sealed at rest)."""

    async def save_pending(self, state_hash: str, pending: PendingSignIn) -> None: ...

    async def take_pending(self, state_hash: str) -> PendingSignIn | None:
        """The pending sign-in for this state, removed: a state works once."""
        ...

    async def tokens(self) -> Tokens | None: ...

    async def connect(self, access: str, refresh: str, expires_at: datetime, who: str) -> None:
        """Store a fresh grant (version starts again)."""
        ...

    async def rotate(self, version: int, access: str, refresh: str, expires_at: datetime) -> bool:
        """Replace the tokens if they are still at `version`; False when someone else did."""
        ...

    async def lease(self, holder: str, ttl: timedelta) -> bool:
        """A lease across processes and replicas, so one refresh token is spent once."""
        ...

    async def release(self, holder: str) -> None: ...


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class OAuthTokens:
    """The `Auth` of a tenant connected by OAuth; its `TokenStore` keeps the tokens."""

    mode = "oauth"

    def __init__(self, config: OAuthConfig, store: TokenStore, http: httpx.AsyncClient,
                 policy: RetryPolicy = POLICY) -> None:
        self.config, self.store = config, store
        self.http, self.policy = http, policy
        self._tokens: Tokens | None = None
        self._lock = asyncio.Lock()
        self._holder = f"teamviewer-oauth:{uuid.uuid4().hex}"

    @property
    def cached(self) -> Tokens | None:
        return self._tokens

    def known_secrets(self) -> list[str]:
        held = [self.config.client_secret]
        if self._tokens is not None:
            held += [self._tokens.access, self._tokens.refresh]
        return held

    # --- connect -----------------------------------------------------------------------------

    async def begin(self, principal_id: int) -> str:
        """A one-time authorize link for this admin; the state and verifier stay server-side."""
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        await self.store.save_pending(state_hash(state), PendingSignIn(
            principal_id, verifier, datetime.now(UTC) + STATE_TTL))
        query = urlencode({"response_type": "code", "client_id": self.config.client_id,
                           "redirect_uri": self.config.redirect_uri, "state": state,
                           "code_challenge": challenge, "code_challenge_method": "S256"})
        sep = "&" if "?" in self.config.authorize_url else "?"
        return f"{self.config.authorize_url}{sep}{query}"

    async def complete(self, state: str, code: str, cid: str,
                       authorize: Callable[[int], Awaitable[str]]) -> str:
        """Check the state (once only), exchange the code, store the tokens; returns who connected.

        `authorize(principal_id)` re-checks on the server that the person who asked for the
        link may still connect TeamViewer, and returns their email (or raises ConnectRefused).
        """
        if not state or not code:
            raise ConnectRefused("The sign-in answer lacks its code or state.")
        pending = await self.store.take_pending(state_hash(state))
        if pending is None:
            raise ConnectRefused("This sign-in does not match a pending `teamviewer connect` "
                                 "(unknown or already used state). Nothing was stored.")
        if pending.expires_at < datetime.now(UTC):
            raise ConnectRefused("This sign-in link has expired (links last 10 minutes).")
        who = await authorize(pending.principal_id)
        data = await self._grant({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": self.config.redirect_uri,
                                  "code_verifier": pending.verifier}, cid)
        access, refresh, expires_at = self._parse(data, cid)
        await self.store.connect(access, refresh, expires_at, who)
        self._tokens = None  # reload (with the new version) on next use
        log.info("TeamViewer connected by %s (ref %s)", who, cid)
        return who

    # --- tokens ------------------------------------------------------------------------------

    async def token(self, correlation_id: str) -> str:
        tokens = self._tokens or await self.store.tokens()
        if tokens is None:
            raise VendorError(VENDOR, None, "not_connected", NOT_CONNECTED, correlation_id,
                              cause=Cause.AUTH)
        self._tokens = tokens
        if tokens.due:
            tokens = await self._refresh(tokens, correlation_id, force=False)
        return tokens.access

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        """After a 401: one refresh, unless another task or replica already stored newer tokens."""
        current = self._tokens or await self.store.tokens()
        if current is None:
            return None
        return (await self._refresh(current, correlation_id, force=True, rejected=rejected)).access

    async def _refresh(self, seen: Tokens, cid: str, *, force: bool,
                       rejected: str | None = None) -> Tokens:
        async with self._lock:  # one refresh per process; the lease makes it one per tenant
            deadline = time.monotonic() + LEASE_WAIT
            while True:
                current = await self.store.tokens()
                if current is None:
                    raise VendorError(VENDOR, 401, "not_connected", NOT_CONNECTED, cid)
                if not current.due and (not force or current.version != seen.version
                                        or (rejected is not None and current.access != rejected)):
                    self._tokens = current
                    return current  # fresh enough, or someone else refreshed while we waited
                if await self.store.lease(self._holder, LEASE_TTL):
                    break
                if time.monotonic() > deadline:
                    raise VendorError(VENDOR, None, "refresh_busy", "Another deskhand process is "
                                      "refreshing the TeamViewer sign-in; try again shortly.", cid)
                await asyncio.sleep(0.05)
            try:
                return await self._rotate(current, cid)
            finally:
                await self.store.release(self._holder)

    async def _rotate(self, current: Tokens, cid: str) -> Tokens:
        latest = await self.store.tokens()
        if latest is not None and latest.version != current.version and not latest.due:
            self._tokens = latest  # finished by another replica just before our lease
            return latest
        data = await self._grant({"grant_type": "refresh_token",
                                  "refresh_token": current.refresh}, cid)
        access, refresh, expires_at = self._parse(data, cid)
        stored = await self.store.rotate(current.version, access, refresh, expires_at)
        fresh = Tokens(access, refresh, expires_at, current.version + 1)
        if not stored:  # reconnected meanwhile (`teamviewer connect`): that grant wins
            fresh = await self.store.tokens() or fresh
        self._tokens = fresh
        log.info("TeamViewer access token refreshed (version %d, ref %s)", fresh.version, cid)
        return fresh

    async def _grant(self, fields: dict[str, str], cid: str) -> dict[str, Any]:
        form = {**fields, "client_id": self.config.client_id,
                "client_secret": self.config.client_secret}
        response = await send(self.http, "POST", self.config.token_path, vendor=VENDOR,
                              correlation_id=cid, policy=self.policy, data=form)
        if response.status_code == 200:
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, dict):
                return data
        try:
            error = str(response.json().get("error") or "")
        except (ValueError, AttributeError):
            error = ""
        if error == "invalid_client":
            text = ("TeamViewer refused deskhand's OAuth app: check DESKHAND_TEAMVIEWER_CLIENT_ID "
                    "and DESKHAND_TEAMVIEWER_CLIENT_SECRET.")
        elif error == "invalid_grant":
            text = ("TeamViewer refused the sign-in grant (expired, used or revoked). An "
                    "administrator should run `teamviewer connect` again.")
        else:
            text = f"TeamViewer's token endpoint answered HTTP {response.status_code}."
        raise VendorError(VENDOR, response.status_code, error or f"http_{response.status_code}",
                          text, cid)

    def _parse(self, data: dict[str, Any], cid: str) -> tuple[str, str, datetime]:
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            raise VendorError(VENDOR, 200, "bad_token_response",
                              "TeamViewer's token answer lacked a token.", cid, cause=Cause.UNAVAILABLE)
        try:
            lifetime = int(data.get("expires_in") or 86400)
        except (TypeError, ValueError):
            lifetime = 86400
        return access, refresh, datetime.now(UTC) + timedelta(seconds=lifetime)
