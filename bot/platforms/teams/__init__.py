"""Microsoft Teams adapter: Bot Framework over botbuilder's CloudAdapter at POST /api/messages.

This module is what every process imports: whether Teams can be served (`refusal`) and the
endpoint that answers when it cannot. The adapter (adapter.py and the botbuilder, msal and azure
stacks behind it, ~15 MB of every process) is imported by the composition root only when Teams
is configured.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.capability import RouteHandler
    from bot.runtime import Runtime
    from bot.settings import CoreSettings

log = logging.getLogger("deskhand.teams")
PATH = "/api/messages"


def refusal(settings: CoreSettings) -> tuple[int, str] | None:
    """Why the endpoint must refuse every activity, as (HTTP status, reason), or None."""
    app_id = settings.teams_app_id.strip()
    if not app_id:
        if settings.mode in ("demo", "dev"):
            return None
        return 401, ("Teams is not configured: DESKHAND_TEAMS_APP_ID is empty, and in production "
                     "deskhand never accepts unauthenticated Bot Framework traffic. Set "
                     "DESKHAND_TEAMS_APP_ID and DESKHAND_TEAMS_APP_PASSWORD (docs/teams.md), or "
                     "run with DESKHAND_MODE=dev to try it locally.")
    missing = []
    if settings.teams_app_type != "UserAssignedMSI" and not settings.teams_app_password:
        missing.append("DESKHAND_TEAMS_APP_PASSWORD")
    if settings.teams_app_type != "MultiTenant" and not settings.teams_tenant_id:
        missing.append("DESKHAND_TEAMS_TENANT_ID")
    for name in ("teams_openid_metadata_url", "teams_token_url"):
        value = getattr(settings, name)
        if value and not value.startswith(("https://", "http://")):
            missing.append(f"DESKHAND_{name.upper()} (an http(s) URL)")
    if missing:
        return 503, (f"Teams is not configured: {settings.teams_app_type} needs "
                     + ", ".join(missing) + ".")
    return None


def error_answer(status: int, reason: str) -> web.Response:
    """The endpoint's answer to an activity it does not take: the reason as JSON."""
    return web.json_response({"error": reason}, status=status)


def refusing(status: int, reason: str) -> RouteHandler:
    """POST /api/messages while Teams cannot be served: every activity is answered with the
    reason, so a half-done setup says what is missing instead of a bare 404. The first one is
    logged (a deployment without Teams gets no warning at each start, and a start-up problem
    stays the only line then: bot/startup.py)."""
    said: list[bool] = []

    async def refuse(runtime: Runtime, request: web.Request) -> web.Response:
        if not said:
            said.append(True)
            log.warning("Teams activity refused, and every later one will be: %s", reason)
        return error_answer(status, reason)

    return refuse
