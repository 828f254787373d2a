"""The runtime's Tachyon client, made on first use; tests put their own in `_tachyon`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.context import UserError
from integrations.tachyon.client import TachyonClient

if TYPE_CHECKING:
    from bot.runtime import Runtime

NOT_CONFIGURED = ("1E Tachyon is not set up. An administrator sets DESKHAND_TACHYON_URL (the "
                  "Consumer API root), DESKHAND_TACHYON_CONSUMER and DESKHAND_TACHYON_TOKEN.")


def tachyon(runtime: Runtime) -> TachyonClient | None:
    found = runtime.services.get("_tachyon")
    if found is None and runtime.settings.tachyon_url:
        found = runtime.services["_tachyon"] = TachyonClient.from_settings(runtime.settings)
    return found


def require_tachyon(runtime: Runtime) -> TachyonClient:
    client = tachyon(runtime)
    if client is None:
        raise UserError(NOT_CONFIGURED, title="1E Tachyon is not set up")
    return client


async def close(runtime: Runtime) -> None:
    client = runtime.services.pop("_tachyon", None)
    if client is not None:
        await client.aclose()
