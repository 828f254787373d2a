"""The ServiceNow client of each tenant, built from its own configuration (bot/tenant_clients:
the tenant's record, or DESKHAND_SERVICENOW_* for the deployment's own tenant).

`servicenow(runtime, tenant_id)` is the one place a client is obtained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.integration import Finding, Integration, ok, secret_text
from bot.model import new_correlation_id
from handlers.devices import DeviceSettings
from handlers.incidents.config import ServiceNowConfig
from handlers.incidents.texts import NOT_CONFIGURED, NOT_CONFIGURED_TITLE, SIGNED_IN
from integrations.http import RetryPolicy, new_client
from integrations.servicenow.auth import Auth, BasicAuth, OAuthAuth, OAuthSettings
from integrations.servicenow.client import POLICY, ServiceNowClient

if TYPE_CHECKING:
    import httpx

    from bot.runtime import Runtime

NAME = "servicenow"


class NotConfigured(UserError):
    title = NOT_CONFIGURED_TITLE


def _oauth(s: ServiceNowConfig) -> bool:
    return bool(s.servicenow_client_id and secret_text(s.servicenow_client_secret)) and (
        s.servicenow_grant == "client_credentials"
        or bool(s.servicenow_username and secret_text(s.servicenow_password)))


def missing(s: ServiceNowConfig) -> list[str]:
    """What a configuration lacks: the URL, and a Basic account or OAuth client credentials."""
    needs = [] if s.servicenow_url else ["url"]
    if not (_oauth(s) or (s.servicenow_username and secret_text(s.servicenow_password))):
        needs.append("username and password (or client_id and client_secret)")
    return needs


def build(runtime: Runtime, tenant_id: int, s: ServiceNowConfig, *, policy: RetryPolicy = POLICY,
          transport: httpx.AsyncBaseTransport | None = None) -> ServiceNowClient | None:
    if missing(s):
        return None
    root = s.servicenow_url if s.servicenow_url.endswith("/") else s.servicenow_url + "/"
    http = new_client(root, transport=transport)
    password = secret_text(s.servicenow_password)
    auth: Auth = (OAuthAuth(OAuthSettings(s.servicenow_client_id,
                                          secret_text(s.servicenow_client_secret), s.servicenow_grant,
                                          s.servicenow_username, password), http, policy)
                  if _oauth(s) else BasicAuth(s.servicenow_username, password))
    return ServiceNowClient(root, auth, device_table=s.servicenow_device_table, policy=policy, http=http)


async def servicenow(runtime: Runtime, tenant_id: int) -> ServiceNowClient:
    """The tenant's ServiceNow client; refuses plainly (NotConfigured) when it has none set up."""
    client = await runtime.tenant_clients.get(tenant_id, NAME)
    if client is None:
        raise NotConfigured(NOT_CONFIGURED)
    found: ServiceNowClient = client
    async with runtime.db.uow() as uow:  # the tenant's own setting, changed at any time
        found.device_field = (await DeviceSettings.read(uow, tenant_id)).targeted_device_field
    return found


async def check(runtime: Runtime, tenant_id: int) -> list[Finding]:
    """Sign in and read one incident (a wrong password or a missing role shows here)."""
    await (await servicenow(runtime, tenant_id)).ping(cid=new_correlation_id())
    return [ok(SIGNED_IN)]


async def _close(client: ServiceNowClient) -> None:
    await client.aclose()


INTEGRATION = Integration(NAME, "ServiceNow", ServiceNowConfig, "servicenow_", build, check,
                          missing, close=_close)
