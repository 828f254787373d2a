"""`deskhand demo`: the ServiceNow simulator on the demo's own listener, seeded from the fleet.

Unless DESKHAND_SERVICENOW_URL is set, the simulator serves `/_sim/servicenow/api/now/...` with a
fresh Basic integration user, and the client is aimed at it. Its users are the fleet's owners
and the demo personas, its CIs the fleet's devices, and it holds a dozen incidents (open and
resolved, called in by device owners, assigned in turn to the personas, so `incident list mine`
shows some), plus one on a printer deskhand's inventory does not know.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

from bot.demo import PERSONAS, fleet, listener_url
from bot.settings import CoreSettings, section
from handlers.incidents.config import ServiceNowConfig
from integrations.servicenow.simulator import ServiceNowSimulator

if TYPE_CHECKING:
    from bot.runtime import Runtime

PREFIX = "/_sim/servicenow"
DEMO_USER = "deskhand.integration"
INCIDENTS = 12
PRINTER = "PRN-3F-EAST"


def demo_part(settings: CoreSettings) -> DemoServiceNow | None:
    """The demo runs its own simulator unless a real (or separate) ServiceNow is configured."""
    return None if "DESKHAND_SERVICENOW_URL" in os.environ else DemoServiceNow(settings)


class DemoServiceNow:
    def __init__(self, settings: CoreSettings) -> None:
        config = section(settings, ServiceNowConfig)
        password = secrets.token_urlsafe(24)
        self.sim = ServiceNowSimulator(users={DEMO_USER: password})
        config.servicenow_url = listener_url(settings, f"{PREFIX}/")
        config.servicenow_username, config.servicenow_password = DEMO_USER, SecretStr(password)
        config.servicenow_client_id, config.servicenow_client_secret = "", None

    def mount(self, app: web.Application) -> None:
        self.sim.mount(app, PREFIX)

    async def seed(self, runtime: Runtime) -> None:
        devices = [(d.name, d.serial or "", d.owner_email or "") for d, _ in await fleet(runtime)]
        people = [(email, name) for email, name, *_ in PERSONAS]
        self.sim.seed_fleet(devices, people, incidents=INCIDENTS)
        instance = self.sim.instance
        printer = instance.add_ci(PRINTER, "PRN0003")
        instance.insert("incident", {
            "short_description": "Printer on 3rd floor east jams", "state": "2",
            "caller_id": instance.add_user(devices[0][2]) if devices and devices[0][2] else "",
            "cmdb_ci": printer,
            "assigned_to": instance.add_user(people[0][0]) if people else ""})
