"""The Workspace ONE client of each tenant, built from its own configuration (bot/tenant_clients:
the tenant's record, or DESKHAND_WS1_* for the deployment's own tenant)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.integration import Finding, Integration, ok, secret_text
from bot.model import new_correlation_id
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.texts import NOT_CONFIGURED, NOT_CONFIGURED_TITLE, SIGNED_IN
from integrations.http import RetryPolicy, new_client
from integrations.workspace_one.auth import Auth, BasicAuth, ClientCredentials
from integrations.workspace_one.client import POLICY, WorkspaceOneClient, api_root

if TYPE_CHECKING:
    import httpx

    from bot.runtime import Runtime

NAME = "workspace-one"


def missing(s: WorkspaceOneConfig) -> list[str]:
    """What a configuration lacks: the URL, and OAuth client credentials or a Basic account."""
    needs = [] if s.ws1_url else ["url"]
    if not ((s.ws1_client_id and secret_text(s.ws1_client_secret))
            or (s.ws1_username and secret_text(s.ws1_password))):
        needs.append("username and password (or client_id and client_secret)")
    return needs


class WorkspaceOne:
    def __init__(self, s: WorkspaceOneConfig, *, policy: RetryPolicy = POLICY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client: WorkspaceOneClient | None = None
        self.http: httpx.AsyncClient | None = None
        secret, password = secret_text(s.ws1_client_secret), secret_text(s.ws1_password)
        if missing(s):
            return
        self.http = new_client(api_root(s.ws1_url), transport=transport)
        auth: Auth = (ClientCredentials(s.ws1_token_url, s.ws1_client_id, secret, self.http)
                      if s.ws1_client_id and secret else BasicAuth(s.ws1_username, password))
        self.client = WorkspaceOneClient(s.ws1_url, auth, tenant_code=secret_text(s.ws1_tenant_code),
                                         api_version=s.ws1_api_version, policy=policy,
                                         http=self.http)

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def build(runtime: Runtime, tenant_id: int, config: WorkspaceOneConfig, *,
          policy: RetryPolicy = POLICY, transport: httpx.AsyncBaseTransport | None = None
          ) -> WorkspaceOne:
    return WorkspaceOne(config, policy=policy, transport=transport)


async def workspace_one(runtime: Runtime, tenant_id: int) -> WorkspaceOneClient:
    """The tenant's Workspace ONE client; refuses plainly when the tenant has none set up."""
    found = await runtime.tenant_clients.get(tenant_id, NAME)
    if found is None or found.client is None:
        raise UserError(NOT_CONFIGURED, title=NOT_CONFIGURED_TITLE)
    client: WorkspaceOneClient = found.client
    return client


async def check(runtime: Runtime, tenant_id: int) -> list[Finding]:
    """Sign in and read one page of devices (a wrong password or tenant code shows here)."""
    page = await (await workspace_one(runtime, tenant_id)).search(page_size=1,
                                                                  cid=new_correlation_id())
    return [ok(SIGNED_IN.format(total=page.total))]


INTEGRATION = Integration(NAME, "Workspace ONE", WorkspaceOneConfig, "ws1_", build, check,
                          missing, close=WorkspaceOne.aclose)
