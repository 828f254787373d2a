"""The tenant's TeamViewer connection: the sign-in mode from its settings, one client, its status."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.remote.config import TeamViewerConfig
from handlers.remote.tokens import DatabaseTokenStore
from integrations.http import Cause, RetryPolicy, VendorError, new_client
from integrations.teamviewer.client import POLICY, VENDOR, Auth, ScriptToken, TeamViewerClient
from integrations.teamviewer.oauth import OAuthConfig, OAuthTokens
from storage.remote import TeamViewerAuthRepo

if TYPE_CHECKING:
    import httpx

    from bot.runtime import Runtime

log = logging.getLogger("deskhand.teamviewer")
CALLBACK_PATH = "/oauth/teamviewer/callback"
NOT_CONFIGURED = ("TeamViewer is not set up. An administrator sets DESKHAND_TEAMVIEWER_API_TOKEN "
                  "(a script token), or DESKHAND_TEAMVIEWER_CLIENT_ID and _CLIENT_SECRET and then "
                  "runs `teamviewer connect`.")


class NotConfigured:
    mode = "off"

    async def token(self, correlation_id: str) -> str:
        raise VendorError(VENDOR, None, "not_configured", NOT_CONFIGURED, correlation_id,
                          cause=Cause.AUTH)

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        return None

    def known_secrets(self) -> list[str]:
        return []


@dataclass(frozen=True)
class Status:
    mode: str  # script | oauth | off
    token_valid: bool | None  # None: could not be asked
    detail: str
    connected_by: str | None = None
    expires_at: datetime | None = None


class TeamViewer:
    def __init__(self, runtime: Runtime, *, policy: RetryPolicy = POLICY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        s = runtime.config(TeamViewerConfig)
        self.runtime = runtime
        self.group = s.teamviewer_session_group
        self.http = new_client(s.teamviewer_url, transport=transport)
        self.oauth: OAuthTokens | None = None
        auth: Auth
        script = s.teamviewer_api_token.get_secret_value() if s.teamviewer_api_token else ""
        secret = s.teamviewer_client_secret.get_secret_value() if s.teamviewer_client_secret else ""
        if script:
            auth = ScriptToken(script)
        elif s.teamviewer_client_id and secret:
            config = OAuthConfig(s.teamviewer_client_id, secret, s.teamviewer_authorize_url,
                                 runtime.settings.public_url.rstrip("/") + CALLBACK_PATH)
            store = DatabaseTokenStore(runtime.db, runtime.secrets, runtime.tenant_id)
            auth = self.oauth = OAuthTokens(config, store, self.http, policy)
        else:
            auth = NotConfigured()
        self.client = TeamViewerClient(s.teamviewer_url, auth, policy=policy, http=self.http)

    @property
    def mode(self) -> str:
        return self.client.auth.mode

    async def status(self, cid: str) -> Status:
        if self.mode == "off":
            return Status("off", None, NOT_CONFIGURED)
        by = expires = None
        if self.oauth is not None:
            async with self.runtime.db.uow() as uow:
                row = await uow.repo(TeamViewerAuthRepo).credential(self.runtime.tenant_id)
            if row is None:
                return Status("oauth", None, "Not connected yet: run `teamviewer connect`.")
            by, expires = row.connected_by, row.expires_at
        try:
            valid = await self.client.ping(cid)
            if not valid and self.oauth is not None:
                await self.oauth.refresh(await self.oauth.token(cid), cid)
                valid = await self.client.ping(cid)
        except VendorError as exc:
            return Status(self.mode, None, exc.message, by, expires)
        if self.oauth is not None and self.oauth.cached is not None:
            expires = self.oauth.cached.expires_at
        detail = "TeamViewer accepts the token." if valid else "TeamViewer says the token is not valid."
        return Status(self.mode, valid, detail, by, expires)

    async def aclose(self) -> None:
        await self.http.aclose()


def teamviewer(runtime: Runtime) -> TeamViewer:
    """The runtime's TeamViewer (a service: made on first use, after start, since OAuth needs the
    tenant id)."""
    found = runtime.services.get(TeamViewer)
    assert found is not None
    return found
