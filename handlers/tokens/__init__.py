"""Data-access tokens and the read-only Delta Sharing server at /sharing/.

`data-access enable|disable`, `token create|download|list|revoke` (commands.py); tokens are
workflow rows (states.TOKENS) keeping only hashes of their secrets; the one-time profile
download (profile.py).
"""

from __future__ import annotations

from bot.capability import Capability, Job, Route
from bot.runtime import Runtime
from handlers.tokens import commands, lifecycle, profile

EXPIRE_SECONDS = 600


async def expire(runtime: Runtime) -> None:
    await lifecycle.expire(runtime.db)


CAPABILITY = Capability(
    name="tokens",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("token.read", "token.write"),
    routes=(Route("GET", profile.PATH + "{link}", profile.confirm),
            Route("POST", profile.PATH + "{link}", profile.redeem)),
    jobs=(Job("tokens.expire", EXPIRE_SECONDS, expire),),
)
