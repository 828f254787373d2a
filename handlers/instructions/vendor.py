"""The runtime's 1E client: made from DESKHAND_TACHYON_* on first use, None when not set up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from handlers.instructions.config import TachyonConfig
from integrations.http import RetryPolicy
from integrations.tachyon.client import POLICY, TachyonClient

if TYPE_CHECKING:
    from bot.runtime import Runtime

NOT_CONFIGURED = ("1E Tachyon is not set up. An administrator sets DESKHAND_TACHYON_URL (the "
                  "Consumer API root), DESKHAND_TACHYON_CONSUMER and DESKHAND_TACHYON_TOKEN.")


def client_for(config: TachyonConfig, policy: RetryPolicy = POLICY) -> TachyonClient | None:
    """A client from DESKHAND_TACHYON_*; None while no URL is set."""
    if not config.tachyon_url:
        return None
    token = config.tachyon_token.get_secret_value() if config.tachyon_token else ""
    approver = config.tachyon_approver_token
    return TachyonClient(config.tachyon_url, config.tachyon_consumer, token,
                         approver_token=approver.get_secret_value() if approver else None,
                         policy=policy)


def make_client(runtime: Runtime) -> TachyonClient | None:
    return client_for(runtime.config(TachyonConfig))


def tachyon(runtime: Runtime) -> TachyonClient | None:
    return runtime.services.get(TachyonClient)


def require_tachyon(runtime: Runtime) -> TachyonClient:
    client = tachyon(runtime)
    if client is None:
        raise UserError(NOT_CONFIGURED, title="1E Tachyon is not set up")
    return client
