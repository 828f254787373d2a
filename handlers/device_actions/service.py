"""The Workspace ONE client deskhand uses, built from DESKHAND_WS1_* (a service: one per process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.texts import NOT_CONFIGURED, NOT_CONFIGURED_TITLE
from integrations.http import RetryPolicy, new_client
from integrations.workspace_one.auth import Auth, BasicAuth, ClientCredentials
from integrations.workspace_one.client import POLICY, WorkspaceOneClient, api_root

if TYPE_CHECKING:
    import httpx

    from bot.runtime import Runtime


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


class WorkspaceOne:
    def __init__(self, runtime: Runtime, *, policy: RetryPolicy = POLICY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        s = runtime.config(WorkspaceOneConfig)
        self.client: WorkspaceOneClient | None = None
        self.http: httpx.AsyncClient | None = None
        secret, password = _secret(s.ws1_client_secret), _secret(s.ws1_password)
        if not s.ws1_url or not ((s.ws1_client_id and secret) or (s.ws1_username and password)):
            return
        self.http = new_client(api_root(s.ws1_url), transport=transport)
        auth: Auth = (ClientCredentials(s.ws1_token_url, s.ws1_client_id, secret, self.http)
                      if s.ws1_client_id and secret else BasicAuth(s.ws1_username, password))
        self.client = WorkspaceOneClient(s.ws1_url, auth, tenant_code=_secret(s.ws1_tenant_code),
                                         api_version=s.ws1_api_version, policy=policy,
                                         http=self.http)

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def workspace_one(runtime: Runtime) -> WorkspaceOneClient:
    """The runtime's Workspace ONE client; refuses plainly when none is configured."""
    found = runtime.services.get(WorkspaceOne)
    if found is None or found.client is None:
        raise UserError(NOT_CONFIGURED, title=NOT_CONFIGURED_TITLE)
    return found.client
