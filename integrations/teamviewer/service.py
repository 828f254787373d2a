"""The tenant's TeamViewer connection: auth mode from settings, one client, the OAuth callback."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from bot.model import new_correlation_id
from bot.rbac import decide, grants_of
from integrations.http import RetryPolicy, VendorError, new_client
from integrations.teamviewer.client import POLICY, VENDOR, Auth, ScriptToken, TeamViewerClient
from integrations.teamviewer.oauth import ConnectRefused, OAuthConfig, OAuthTokens
from storage.directory import DirectoryRepo
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
        raise VendorError(VENDOR, None, "not_configured", NOT_CONFIGURED, correlation_id)

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
        s = runtime.settings
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
                                 s.public_url.rstrip("/") + CALLBACK_PATH)
            auth = self.oauth = OAuthTokens(config, runtime.db, runtime.secrets,
                                            runtime.tenant_id, self.http, policy)
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
    """The runtime's TeamViewer, made on first use (after start: it needs the tenant id)."""
    found: TeamViewer | None = runtime.services.get("_teamviewer")
    if found is None:
        found = runtime.services["_teamviewer"] = TeamViewer(runtime)
    return found


def mount(app: web.Application, runtime: Runtime) -> None:
    """The OAuth callback route, and closing the HTTP client when the app stops."""

    async def callback(request: web.Request) -> web.Response:
        return await oauth_callback(runtime, request)

    async def close(_: web.Application) -> None:
        tv = runtime.services.pop("_teamviewer", None)
        if tv is not None:
            await tv.aclose()

    app.router.add_get(CALLBACK_PATH, callback)
    app.on_cleanup.insert(0, close)


def _page(status: int, title: str, text: str) -> web.Response:
    return web.Response(status=status, content_type="text/html", headers={"Cache-Control": "no-store"},
                        text=(f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
                              f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"))


async def oauth_callback(runtime: Runtime, request: web.Request) -> web.Response:
    cid = new_correlation_id()
    tv = teamviewer(runtime)
    audit = runtime.audit

    async def record(outcome: str, detail: str, who: str | None = None) -> None:
        await audit.record(runtime.tenant_id, "external", "teamviewer.connect", outcome,
                           actor_label=who or "teamviewer oauth callback", correlation_id=cid,
                           target="TeamViewer", detail=detail)

    if tv.oauth is None:
        return _page(404, "TeamViewer sign-in is not configured",
                     "deskhand uses a script token or has no TeamViewer OAuth app configured.")
    if request.query.get("error"):
        reason = request.query["error"][:100]
        await record("refused", f"TeamViewer sign-in returned error {reason}")
        return _page(400, "TeamViewer was not connected",
                     f"The sign-in ended with '{reason}'. Run `teamviewer connect` to try again.")

    async def authorize(principal_id: int) -> str:
        async with runtime.db.uow() as uow:
            person = await uow.repo(DirectoryRepo).principal(principal_id)
            if person is None or person.tenant_id != runtime.tenant_id:
                raise ConnectRefused("The person who asked for this link no longer exists.")
            grants = await grants_of(uow, runtime.tenant_id, principal_id)
        if not decide(grants, "settings.write", active=person.active).allowed:
            raise ConnectRefused(f"{person.email} no longer holds settings.write.")
        return person.email

    try:
        who = await tv.oauth.complete(request.query.get("state", ""), request.query.get("code", ""),
                                      cid, authorize)
    except ConnectRefused as exc:
        await record("refused", str(exc))
        return _page(400, "TeamViewer was not connected", f"{exc} (ref {cid})")
    except VendorError as exc:
        await record("failed", exc.message)
        return _page(502, "TeamViewer was not connected", f"{exc.message} (ref {cid})")
    await record("ok", "OAuth tokens stored (sealed)", who)
    return _page(200, "TeamViewer is connected",
                 f"deskhand can now start remote sessions. Connected by {who}. "
                 "You can close this tab.")
