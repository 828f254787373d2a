"""A tenant's 1E client: built from its own configuration (its record, or DESKHAND_TACHYON_* for
the deployment's own tenant), None while it has no 1E set up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.integration import Finding, Integration, ok, problem
from bot.model import new_correlation_id
from handlers.instructions.config import TachyonConfig
from integrations.http import RetryPolicy
from integrations.tachyon.client import POLICY, TachyonClient

if TYPE_CHECKING:
    from bot.runtime import Runtime

NAME = "1e"
NOT_CONFIGURED = ("1E Tachyon is not set up for this workspace. An administrator runs "
                  "`integrations set 1e url=... consumer=... token=...`; the deployment's own "
                  "tenant may use DESKHAND_TACHYON_URL (the Consumer API root), "
                  "DESKHAND_TACHYON_CONSUMER and DESKHAND_TACHYON_TOKEN.")


def client_for(config: TachyonConfig, policy: RetryPolicy = POLICY) -> TachyonClient | None:
    """A client from DESKHAND_TACHYON_*; None while no URL is set."""
    if not config.tachyon_url:
        return None
    token = config.tachyon_token.get_secret_value() if config.tachyon_token else ""
    approver = config.tachyon_approver_token
    return TachyonClient(config.tachyon_url, config.tachyon_consumer, token,
                         approver_token=approver.get_secret_value() if approver else None,
                         policy=policy)


def missing(config: TachyonConfig) -> list[str]:
    token = config.tachyon_token.get_secret_value() if config.tachyon_token else ""
    return [k for k, v in (("url", config.tachyon_url), ("consumer", config.tachyon_consumer),
                           ("token", token)) if not v]


def make_client(runtime: Runtime, tenant_id: int, config: TachyonConfig, *,
                policy: RetryPolicy = POLICY) -> TachyonClient | None:
    return client_for(config, policy)


async def tachyon(runtime: Runtime, tenant_id: int) -> TachyonClient | None:
    client: TachyonClient | None = await runtime.tenant_clients.get(tenant_id, NAME)
    return client


async def require_tachyon(runtime: Runtime, tenant_id: int) -> TachyonClient:
    client = await tachyon(runtime, tenant_id)
    if client is None:
        raise UserError(NOT_CONFIGURED, title="1E Tachyon is not set up")
    return client


async def tachyon_config(runtime: Runtime, tenant_id: int) -> TachyonConfig:
    config = await runtime.tenant_clients.config(tenant_id, NAME)
    assert isinstance(config, TachyonConfig)
    return config


async def check(runtime: Runtime, tenant_id: int) -> list[Finding]:
    """The consumer is entitled (1E checks it before anything else: 403 otherwise) and the
    token accepted, and the instructions can be retrieved."""
    client, cid = await require_tachyon(runtime, tenant_id), new_correlation_id()
    await client.ping(cid=cid)
    found = [ok(f"1E accepts the consumer '{client.consumer}' and deskhand's token.")]
    definitions = await client.definitions(cid=cid)
    found.append(ok(f"1E lists {len(definitions)} instructions deskhand may use.") if definitions
                 else problem("1E lists no instructions for deskhand's principal: check its "
                              "roles on the instruction sets."))
    return found


INTEGRATION = Integration(NAME, "1E Tachyon", TachyonConfig, "tachyon_", make_client, check,
                          missing, close=TachyonClient.aclose)
