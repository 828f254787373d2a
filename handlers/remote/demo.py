"""`deskhand demo`: the TeamViewer simulator on the demo's own listener, and the client aimed at it.

Unless DESKHAND_TEAMVIEWER_URL is set, the simulator serves `/_sim/teamviewer/...`, accepts a
fresh script token (used unless DESKHAND_TEAMVIEWER_API_TOKEN is set; set it empty to try
OAuth and `teamviewer connect`) and knows a demo OAuth app. Its managed devices come from the
seeded fleet: devices whose `teamviewer_full_client` attribute is false are left unmanaged.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

from bot.demo import fleet, listener_url
from bot.settings import CoreSettings, section
from handlers.remote.config import TeamViewerConfig
from integrations.teamviewer.simulator import TeamViewerSimulator

if TYPE_CHECKING:
    from bot.runtime import Runtime

PREFIX = "/_sim/teamviewer"
DEMO_CLIENT_ID = "deskhand-demo"


def demo_part(settings: CoreSettings) -> DemoTeamViewer | None:
    """The demo runs its own simulator unless a real (or separate) TeamViewer is configured."""
    return None if "DESKHAND_TEAMVIEWER_URL" in os.environ else DemoTeamViewer(settings)


class DemoTeamViewer:
    def __init__(self, settings: CoreSettings) -> None:
        config = section(settings, TeamViewerConfig)
        token = secrets.token_urlsafe(24)
        client_secret = secrets.token_urlsafe(24)
        self.sim = TeamViewerSimulator(script_tokens=(token,),
                                       clients={DEMO_CLIENT_ID: client_secret})
        config.teamviewer_url = listener_url(settings, f"{PREFIX}/api/v1/")
        config.teamviewer_authorize_url = f"{settings.public_url.rstrip('/')}{PREFIX}/oauth2/authorize"
        if "DESKHAND_TEAMVIEWER_API_TOKEN" not in os.environ:
            config.teamviewer_api_token = SecretStr(token)
        if "DESKHAND_TEAMVIEWER_CLIENT_ID" not in os.environ:
            config.teamviewer_client_id = DEMO_CLIENT_ID
            config.teamviewer_client_secret = SecretStr(client_secret)

    def mount(self, app: web.Application) -> None:
        self.sim.mount(app, PREFIX)

    async def seed(self, runtime: Runtime) -> None:
        rows = await fleet(runtime)
        self.sim.seed_devices([(d.name, bool((d.attributes or {}).get("teamviewer_full_client", True)))
                               for d, _ in rows])

