"""The inventory test kit: the three vendor simulators on loopback with a small fleet that
overlaps (PC-0001 is in all three), and deskhand runtimes whose tenant has all three set up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot import rbac_admin
from bot.bootstrap import build_runtime
from bot.model import Actor
from bot.rbac_admin import Granter
from bot.runtime import Runtime
from integrations.simulator_kit import serve
from integrations.tachyon.sim_state import SimDevice as OneDevice
from integrations.tachyon.simulator import TachyonSimulator
from integrations.teamviewer.simulator import SimDevice as TVDevice
from integrations.teamviewer.simulator import TeamViewerSimulator
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.devices import Device, ManagementGroup
from storage.directory import DirectoryRepo
from storage.inventory import DeviceSource
from tests.conftest import LiveServer, make_settings
from tests.handlers.integrations_env import person
from tests.handlers.ws1_env import CODE, FAST, PASSWORD, USER, ws1_settings

ONE_TOKEN, TV_TOKEN = "one-token-0123", "1234567-tvscripttoken0123"
ADMIN = "ada.admin@example.com"
GROUPS = {1: "London", 2: "Paris"}


def one_device(n: int, group: int) -> OneDevice:
    return OneDevice(f"pc-{n:04d}.corp.example.com", group, GROUPS[group],
                     {"os": "Windows 11 24H2", "serial": f"SN{n:06d}"})


def source_settings(urls: dict[str, str]) -> dict[str, Any]:
    """deskhand's settings for the simulators at `urls` ("1e", "tv", "ws1"), as served here."""
    return {"tachyon_url": urls["1e"], "tachyon_token": ONE_TOKEN,
            "teamviewer_url": urls["tv"] + "/api/v1/", "teamviewer_api_token": TV_TOKEN,
            **ws1_settings(urls["ws1"])}


@dataclass
class Sims:
    one: TachyonSimulator
    tv: TeamViewerSimulator
    ws1: WorkspaceOneSimulator
    urls: dict[str, str]

    def settings(self) -> dict[str, Any]:
        return source_settings(self.urls)

    def move(self, n: int, group: int) -> None:
        """1E now has pc-000n in another management group."""
        fqdn = f"pc-{n:04d}.corp.example.com"
        self.one.set_devices([replace(d, group_id=group, group=GROUPS[group]) if d.fqdn == fqdn
                              else d for d in self.one.devices])

    def drop(self, n: int) -> None:
        """1E no longer reports pc-000n."""
        fqdn = f"pc-{n:04d}.corp.example.com"
        self.one.set_devices([d for d in self.one.devices if d.fqdn != fqdn])


@contextlib.asynccontextmanager
async def simulators() -> AsyncIterator[Sims]:
    """1E: PC-0001..6 in London (1-3) and Paris (4-6); TeamViewer: PC-0001 and MAC-0001 (its own
    group); Workspace ONE: PC-0001 (same serial as 1E's) and IPH-0001."""
    one = TachyonSimulator(tokens={ONE_TOKEN: "deskhand"})
    one.set_devices([one_device(n, 1 if n <= 3 else 2) for n in range(1, 7)])
    tv = TeamViewerSimulator(script_tokens=(TV_TOKEN,))
    tv.devices = [TVDevice("PC-0001", group="Support"), TVDevice("MAC-0001", group="Support")]
    ws1 = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE)
    ws1.seed_devices([("PC-0001", "SN000001", None, "WinRT", "10.0.22631", "ann@example.com"),
                      ("IPH-0001", "F2LX0001", None, "Apple", "18.1", "bob@example.com")])
    runners, urls = [], {}
    for key, sim in (("1e", one), ("tv", tv), ("ws1", ws1)):
        runner, url = await serve(sim)  # type: ignore[arg-type]
        runners.append(runner)
        urls[key] = url
    try:
        yield Sims(one, tv, ws1, urls)
    finally:
        for runner in runners:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def deskhand(url: str, sims: Sims, **extra: Any) -> AsyncIterator[Runtime]:
    """A started runtime on `url` whose own tenant has all three sources; an administrator, no
    devices (the demo fleet is not seeded: what `devices` shows came from the sync)."""
    rt = build_runtime(make_settings(url, **sims.settings(), **extra))
    await rt.start(upgrade=True)
    for name in ("1e", "teamviewer", "workspace-one"):
        rt.tenant_clients.tune(name, policy=FAST)
    async with rt.db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        if await directory.principal_by_email(rt.tenant_id, ADMIN) is None:
            await directory.upsert_principal(rt.tenant_id, ADMIN, "Ada Admin")
            await rbac_admin.grant(uow, rt.tenant_id, Granter("test"), "Full Administrator",
                                   email=ADMIN)
            await uow.commit()
    try:
        yield rt
    finally:
        await rt.stop()


async def admin(rt: Runtime) -> Actor:
    return await person(LiveServer(rt, ""), rt.tenant_id, ADMIN)


async def inventory(rt: Runtime) -> dict[str, tuple[str | None, datetime | None, list[str]]]:
    """Every device by name: (management group, retired at, its sources)."""
    async with rt.db.uow() as uow:
        rows = (await uow.session.execute(
            select(Device, ManagementGroup.name)
            .outerjoin(ManagementGroup, ManagementGroup.id == Device.management_group_id)
            .where(Device.tenant_id == rt.tenant_id))).all()
        sources = (await uow.session.execute(select(DeviceSource.device_id, DeviceSource.source)
                                             .order_by(DeviceSource.source))).all()
    by_device: dict[int, list[str]] = {}
    for device_id, source in sources:
        by_device.setdefault(device_id, []).append(source)
    return {d.name: (g, d.retired_at, by_device.get(d.id, [])) for d, g in rows}
