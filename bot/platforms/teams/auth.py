"""Bot Framework auth: inbound JWT checks (botbuilder) and outbound bot tokens (ours).

Inbound uses botbuilder's ConfigurationBotFrameworkAuthentication, always in its parameterized
form so the OpenID metadata URL is a setting (tests serve their own keys). Before botbuilder
sees a token we refuse anything not issued by the Bot Framework channel service (no emulator
or skill tokens in a chat-ops bot) and refresh signing keys off the event loop: botbuilder
fetches them with blocking `requests` calls.

Outbound uses our credentials factory: one client-credentials token per scope, fetched with an
async HTTP call and cached until shortly before expiry. While the client secret is being rotated,
a token request Entra refuses as `invalid_client` is made again with the previous secret, so
deskhand and Entra need not change at the same moment. (Inbound checks use the Bot Framework's
signing keys and our app id, never the secret.) botbuilder's MSAL credentials fetch on
the event loop, start a fresh MSAL app (and token) every turn, and accept only https
authorities, so a local fake could not issue tokens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    AuthenticationConstants,
    ManagedIdentityServiceClientCredentialsFactory,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from msrest.authentication import Authentication

from bot.settings import CoreSettings
from integrations.http import VendorError, send

log = logging.getLogger("deskhand.teams")
ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER  # https://api.botframework.com
SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
LOGIN = "https://login.microsoftonline.com/"
EARLY = 300  # renew bot tokens five minutes before they expire


class Unauthorized(Exception):
    """An inbound activity whose token does not prove it came from the Bot Framework for us."""


def tenant_for(settings: CoreSettings) -> str:
    single = settings.teams_app_type == "SingleTenant"
    return settings.teams_tenant_id if single else AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT


def token_url(settings: CoreSettings) -> str:
    return settings.teams_token_url or f"{LOGIN}{tenant_for(settings)}/oauth2/v2.0/token"


class TokenSource:
    """Client-credentials bot tokens for the Bot Connector, cached per scope."""

    def __init__(self, url: str, app_id: str, passwords: Sequence[str],
                 http: httpx.AsyncClient) -> None:
        """`passwords`: the current client secret, then the previous one while rotating."""
        self._url, self._app_id, self._passwords, self._http = url, app_id, passwords, http
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def token(self, scope: str) -> str:
        cached = self._tokens.get(scope)
        if cached and cached[1] > time.time():
            return cached[0]
        async with self._lock:
            cached = self._tokens.get(scope)
            if cached and cached[1] > time.time():
                return cached[0]
            current, *previous = self._passwords or [""]
            status, body = await self._request(scope, current)
            took_previous = False
            if previous and body.get("error") == "invalid_client":  # the secret, not the request
                status, body = await self._request(scope, previous[0])
                took_previous = status == 200
            if status != 200 or "access_token" not in body:
                # The error code says what is wrong (bad secret, unknown app) and holds no secret.
                raise PermissionError(f"bot token refused: HTTP {status} "
                                      f"{body.get('error', '')}".strip())
            if took_previous:
                log.warning("Entra refused DESKHAND_TEAMS_APP_PASSWORD (invalid_client) and "
                            "accepted DESKHAND_TEAMS_APP_PASSWORD_PREVIOUS: add the new client "
                            "secret at Entra, then unset DESKHAND_TEAMS_APP_PASSWORD_PREVIOUS")
            expires = time.time() + max(60, int(body.get("expires_in", 3600)) - EARLY)
            self._tokens[scope] = (body["access_token"], expires)
            return str(body["access_token"])

    async def _request(self, scope: str, password: str) -> tuple[int, dict[str, Any]]:
        try:
            resp = await send(self._http, "POST", self._url, vendor="Microsoft Entra",
                              correlation_id="teams-bot-token", data={
                                  "grant_type": "client_credentials", "client_id": self._app_id,
                                  "client_secret": password, "scope": f"{scope}/.default"})
        except VendorError as exc:
            raise PermissionError(f"bot token endpoint unreachable ({exc.code})") from None
        body: dict[str, Any] = resp.json() if resp.headers.get(
            "content-type", "").startswith("application/json") else {}
        return resp.status_code, body


class _TokenCredentials(AppCredentials):
    """msrest credentials over a token fetched beforehand, so signing a request never blocks."""

    def __init__(self, app_id: str, token: str, scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=scope)
        self._token = token

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self._token


class CredentialFactory(ServiceClientCredentialsFactory):
    def __init__(self, settings: CoreSettings, http: httpx.AsyncClient) -> None:
        self.app_id = settings.teams_app_id.strip()
        passwords = [v.get_secret_value() for v in (settings.teams_app_password,
                                                     settings.teams_app_password_previous) if v]
        self._msi = (ManagedIdentityServiceClientCredentialsFactory(self.app_id)
                     if settings.teams_app_type == "UserAssignedMSI" and self.app_id else None)
        self.tokens = TokenSource(token_url(settings), self.app_id, passwords, http)

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(self.app_id) and app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return not self.app_id

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Authentication:
        if not self.app_id:
            return MicrosoftAppCredentials.empty()
        if app_id != self.app_id:
            raise PermissionError("outbound call for an app id that is not deskhand's")
        if self._msi is not None:  # managed identity: botbuilder's own path (Azure-hosted only)
            return await self._msi.create_credentials(app_id, oauth_scope, login_endpoint,
                                                      validate_authority)
        scope = oauth_scope or SCOPE
        return _TokenCredentials(app_id, await self.tokens.token(scope), scope)


def build_authentication(settings: CoreSettings,
                         factory: CredentialFactory) -> ConfigurationBotFrameworkAuthentication:
    # Every public-cloud value is spelled out so botbuilder takes the parameterized path.
    config = SimpleNamespace(
        APP_ID=factory.app_id, APP_TYPE=settings.teams_app_type,
        APP_TENANTID=settings.teams_tenant_id, VALIDATE_AUTHORITY=True,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=f"{LOGIN}{tenant_for(settings)}",
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=SCOPE, TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=ISSUER,
        OAUTH_URL=AuthenticationConstants.OAUTH_URL,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.teams_openid_metadata_url,
        TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=(
            AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL),
        CALLER_ID=CallerIdConstants.public_azure_channel.value,
    )
    return ConfigurationBotFrameworkAuthentication(config, credentials_factory=factory)


def _refresh(metadata: Any) -> None:
    asyncio.run(metadata._refresh())  # botbuilder's fetcher, on a worker thread's own loop


class InboundAuth:
    def __init__(self, settings: CoreSettings, auth: ConfigurationBotFrameworkAuthentication) -> None:
        self._auth = auth
        self._metadata_url = settings.teams_openid_metadata_url

    async def _signing_keys(self, kid: str | None) -> None:
        """Fetch keys off the loop when a day old, or hourly at most for an unknown key id."""
        metadata = JwtTokenExtractor.get_open_id_metadata(self._metadata_url)
        now = datetime.now()
        stale = metadata.last_updated < now - timedelta(hours=23)
        unknown = kid not in {k.get("kid") for k in metadata.keys} and (
            metadata.last_updated < now - timedelta(hours=1))
        if stale or unknown:
            try:
                await asyncio.to_thread(_refresh, metadata)
            except Exception as exc:
                raise ConnectionError(f"Bot Framework signing keys unavailable ({exc})") from None

    async def authenticate(self, activity: Activity, header: str) -> AuthenticateRequestResult:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise Unauthorized("the Authorization header is not a Bearer token")
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthorized("the bearer token is not a JWT") from None
        if claims.get("iss") != ISSUER:
            raise Unauthorized("the token was not issued by the Bot Framework")
        await self._signing_keys(kid)
        try:
            return await self._auth.authenticate_request(activity, header)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("the token signature does not verify") from None
        except (IndexError, KeyError):  # botbuilder's lookup of an unknown key id
            raise Unauthorized("the token is signed with an unknown key") from None
        except PermissionError as exc:  # wrong audience, serviceurl mismatch, ...
            raise Unauthorized(f"the token was refused: {exc}") from None
        except Exception as exc:
            raise Unauthorized(f"the token was refused ({type(exc).__name__}: {exc})") from None
