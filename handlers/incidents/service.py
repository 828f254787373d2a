"""The ServiceNow client deskhand uses, built from DESKHAND_SNOW_* (a service: one per process).

`servicenow(runtime)` is the one place a client is obtained, so that clients made per tenant
later change one function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from handlers.incidents.config import ServiceNowConfig
from handlers.incidents.texts import NOT_CONFIGURED, NOT_CONFIGURED_TITLE
from integrations.http import new_client
from integrations.servicenow.auth import Auth, BasicAuth, OAuthAuth, OAuthSettings
from integrations.servicenow.client import POLICY, ServiceNowClient

if TYPE_CHECKING:
    import httpx

    from bot.runtime import Runtime
    from integrations.http import RetryPolicy


class NotConfigured(UserError):
    title = NOT_CONFIGURED_TITLE


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


class ServiceNow:
    def __init__(self, runtime: Runtime, *, policy: RetryPolicy = POLICY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        s = runtime.config(ServiceNowConfig)
        self.client: ServiceNowClient | None = None
        self.http: httpx.AsyncClient | None = None
        secret, password = _secret(s.snow_client_secret), _secret(s.snow_password)
        oauth = bool(s.snow_client_id and secret) and (
            s.snow_grant == "client_credentials" or bool(s.snow_username and password))
        if not s.snow_url or not (oauth or (s.snow_username and password)):
            return
        root = s.snow_url if s.snow_url.endswith("/") else s.snow_url + "/"
        self.http = new_client(root, transport=transport)
        auth: Auth = (OAuthAuth(OAuthSettings(s.snow_client_id, secret, s.snow_grant,
                                              s.snow_username, password), self.http, policy)
                      if oauth else BasicAuth(s.snow_username, password))
        self.client = ServiceNowClient(root, auth, device_field=s.snow_device_field,
                                       device_table=s.snow_device_table, policy=policy,
                                       http=self.http)

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def servicenow(runtime: Runtime) -> ServiceNowClient:
    """The runtime's ServiceNow client; refuses plainly (NotConfigured) when none is set up."""
    found = runtime.services.get(ServiceNow)
    if found is None or found.client is None:
        raise NotConfigured(NOT_CONFIGURED)
    return found.client
