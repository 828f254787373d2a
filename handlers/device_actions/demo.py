"""`deskhand demo`: the Workspace ONE simulator on the demo's own listener, seeded from the fleet.

Unless DESKHAND_WS1_URL is set, the simulator serves `/_sim/workspace-one/api/...` with a fresh
Basic API account and tenant code, and the client is aimed at it. Its devices are the seeded
fleet, each on the Workspace ONE platform its OS runs (Windows, macOS, iOS, Android, Linux),
enrolled to its owner.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

from bot.demo import fleet, listener_url
from bot.settings import CoreSettings, section
from handlers.device_actions.config import WorkspaceOneConfig
from integrations.workspace_one.models import WS1_PLATFORM, Platform
from integrations.workspace_one.sim_state import Seed
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.devices import Device

if TYPE_CHECKING:
    from bot.runtime import Runtime

PREFIX = "/_sim/workspace-one"
DEMO_ACCOUNT = "deskhand-demo"


# The start of an inventory OS name -> the platform Workspace ONE files the device under.
OS_PLATFORMS = (("windows", Platform.WINDOWS), ("macos", Platform.MACOS), ("mac os", Platform.MACOS),
                ("ios", Platform.IOS), ("ipados", Platform.IOS), ("android", Platform.ANDROID),
                ("ubuntu", Platform.LINUX), ("debian", Platform.LINUX), ("rhel", Platform.LINUX),
                ("red hat", Platform.LINUX), ("fedora", Platform.LINUX), ("linux", Platform.LINUX))


def platform_of_os(os_name: str) -> Platform | None:
    lowered = os_name.strip().lower()
    return next((p for prefix, p in OS_PLATFORMS if lowered.startswith(prefix)), None)


def seeds(devices: list[Device]) -> list[Seed]:
    """The simulator's fleet for our inventory: platform from the OS, enrolled to the owner.
    An OS deskhand does not recognise is filed as Windows, the fleet's most common."""
    return [(d.name, d.serial or d.name, None,
             WS1_PLATFORM[platform_of_os(d.os or "") or Platform.WINDOWS], d.os or "",
             d.owner_email) for d in devices]


def demo_part(settings: CoreSettings) -> DemoWorkspaceOne | None:
    """The demo runs its own simulator unless a real (or separate) Workspace ONE is configured."""
    return None if "DESKHAND_WS1_URL" in os.environ else DemoWorkspaceOne(settings)


class DemoWorkspaceOne:
    def __init__(self, settings: CoreSettings) -> None:
        config = section(settings, WorkspaceOneConfig)
        password, code = secrets.token_urlsafe(24), secrets.token_urlsafe(16)
        self.sim = WorkspaceOneSimulator(accounts={DEMO_ACCOUNT: password}, tenant_code=code)
        config.ws1_url = listener_url(settings, f"{PREFIX}/api/")
        config.ws1_username, config.ws1_password = DEMO_ACCOUNT, SecretStr(password)
        config.ws1_tenant_code = SecretStr(code)
        config.ws1_client_id, config.ws1_client_secret = "", None

    def mount(self, app: web.Application) -> None:
        self.sim.mount(app, PREFIX)

    async def seed(self, runtime: Runtime) -> None:
        self.sim.seed_devices(seeds([d for d, _ in await fleet(runtime)]))
