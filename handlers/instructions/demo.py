"""`deskhand demo`: the Tachyon simulator on the demo's own listener, and the client aimed at it.

Unless DESKHAND_TACHYON_URL is set, the simulator serves `/_sim/tachyon/Consumer/...` and
accepts two fresh tokens: deskhand's own principal (DESKHAND_TACHYON_TOKEN) and a second
principal for 1E-side approvals (DESKHAND_TACHYON_APPROVER_TOKEN), since 1E refuses an approval
from the principal that issued the instruction. Its devices are the seeded fleet but the phones
(no 1E agent runs on them), by FQDN and management group; its answers come from each device's
inventory row (`bot.demo.facts`: the operating system, `teamviewer_full_client`).
Status moves at demo pace: a step a second, answers over a few seconds, a TTL minute in 0.5 s.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import SecretStr

from bot.demo import facts, fleet, listener_url, mobile
from bot.settings import CoreSettings, section
from handlers.instructions.config import TachyonConfig
from integrations.tachyon.sim_api import Switches
from integrations.tachyon.simulator import TachyonSimulator
from storage.devices import DeviceRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

PREFIX = "/_sim/tachyon"
SERVICE_PRINCIPAL = "svc-deskhand@corp.example.com"
APPROVER_PRINCIPAL = "svc-deskhand-approver@corp.example.com"


def demo_part(settings: CoreSettings) -> DemoTachyon | None:
    """The demo runs its own simulator unless a real (or separate) Tachyon is configured."""
    return None if "DESKHAND_TACHYON_URL" in os.environ else DemoTachyon(settings)


class DemoTachyon:
    def __init__(self, settings: CoreSettings) -> None:
        config = section(settings, TachyonConfig)
        token, approver = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.sim = TachyonSimulator(
            tokens={token: SERVICE_PRINCIPAL, approver: APPROVER_PRINCIPAL},
            consumers=(config.tachyon_consumer or "deskhand",),
            switches=Switches(step_seconds=1.0, answer_seconds=4.0, minute_seconds=0.5))
        config.tachyon_url = listener_url(settings, f"{PREFIX}/Consumer/")
        if "DESKHAND_TACHYON_TOKEN" not in os.environ:
            config.tachyon_token = SecretStr(token)
        if "DESKHAND_TACHYON_APPROVER_TOKEN" not in os.environ:
            config.tachyon_approver_token = SecretStr(approver)

    def mount(self, app: web.Application) -> None:
        self.sim.mount(app, PREFIX)

    async def seed(self, runtime: Runtime) -> None:
        rows = await fleet(runtime)
        # Phones run no 1E agent: 1E does not know them (a run naming one reports it unknown).
        self.sim.seed_devices([(d.fqdn or f"{d.name.lower()}.corp.example.com", group or "Default",
                                facts(d)) for d, group in rows if not mobile(d)])
        # Link each demo group to the simulator's id for it, so `group:` runs go out as a scope.
        ids = {d.group: str(d.group_id) for d in self.sim.devices}
        async with runtime.db.uow() as uow:
            for g in await uow.repo(DeviceRepo).groups(runtime.tenant_id):
                g.tachyon_id = ids.get(g.name, g.tachyon_id)
            await uow.commit()

