"""A tenant's TeamViewer connection: the sign-in mode from its configuration (its record, or
DESKHAND_TEAMVIEWER_* for the deployment's own tenant), one client, its status."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.integration import Finding, Integration, ok, problem
from bot.model import new_correlation_id
from handlers.remote.config import CALLBACK_PATH, TeamViewerConfig
from handlers.remote.tokens import DatabaseTokenStore
from integrations.http import Cause, RetryPolicy, VendorError, new_client
from integrations.teamviewer.client import POLICY, VENDOR, Auth, ScriptToken, TeamViewerClient
from integrations.teamviewer.oauth import OAuthConfig, OAuthTokens
from storage.remote import TeamViewerAuthRepo

if TYPE_CHECKING:
    import httpx

    from bot.runtime import Runtime

log = logging.getLogger("deskhand.teamviewer")
NAME = "teamviewer"
NOT_CONFIGURED = ("TeamViewer is not set up for this workspace. An administrator runs "
                  "`integrations set teamviewer api_token=...` (a script token), or sets "
                  "client_id= and client_secret= and then runs `teamviewer connect`; the "
                  "deployment's own tenant may use DESKHAND_TEAMVIEWER_API_TOKEN (or "
                  "DESKHAND_TEAMVIEWER_CLIENT_ID and _CLIENT_SECRET).")


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


def missing(s: TeamViewerConfig) -> list[str]:
    """A script token, or an OAuth app (client id and secret)."""
    if (s.teamviewer_api_token and s.teamviewer_api_token.get_secret_value()) or (
            s.teamviewer_client_id and s.teamviewer_client_secret
            and s.teamviewer_client_secret.get_secret_value()):
        return []
    return ["api_token (or client_id and client_secret)"]


class TeamViewer:
    def __init__(self, runtime: Runtime, tenant_id: int, s: TeamViewerConfig, *,
                 policy: RetryPolicy = POLICY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.runtime, self.tenant_id = runtime, tenant_id
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
            store = DatabaseTokenStore(runtime.db, runtime.secrets, tenant_id)
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
                row = await uow.repo(TeamViewerAuthRepo).credential(self.tenant_id)
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


def build(runtime: Runtime, tenant_id: int, config: TeamViewerConfig, *,
          policy: RetryPolicy = POLICY, transport: httpx.AsyncBaseTransport | None = None
          ) -> TeamViewer:
    return TeamViewer(runtime, tenant_id, config, policy=policy, transport=transport)


async def teamviewer(runtime: Runtime, tenant_id: int) -> TeamViewer:
    """The tenant's TeamViewer (mode "off" when the tenant has none set up)."""
    found = await runtime.tenant_clients.get(tenant_id, NAME)
    assert isinstance(found, TeamViewer)  # built for every tenant, "off" without a config
    return found


async def check(runtime: Runtime, tenant_id: int) -> list[Finding]:
    status = await (await teamviewer(runtime, tenant_id)).status(new_correlation_id())
    return [ok(status.detail) if status.token_valid else problem(status.detail)]


INTEGRATION = Integration(NAME, "TeamViewer", TeamViewerConfig, "teamviewer_", build, check,
                          missing, close=TeamViewer.aclose)
