"""What the wipe tests share: deskhand with its Workspace ONE client aimed at a simulator on
loopback (console, Slack or Teams in front), and readers of the rows and the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers.device_actions.demo import seeds
from integrations.simulator_kit import serve
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.device_wipes import DeviceWipe
from storage.devices import Device, DeviceRepo, ManagementGroup
from storage.workflow import ApprovalRepo, ApprovalRequest
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server
from tests.handlers.test_device_actions import CODE, FAST, PASSWORD, USER

WIPE_KINDS = ("DeviceWipe", "EnterpriseWipe")


def ws1_settings(sim_url: str) -> dict[str, Any]:
    return {"ws1_url": sim_url, "ws1_username": USER, "ws1_password": PASSWORD,
            "ws1_tenant_code": CODE}


@asynccontextmanager
async def simulator() -> AsyncIterator[tuple[WorkspaceOneSimulator, str]]:
    sim = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE)
    runner, url = await serve(sim)
    try:
        yield sim, url
    finally:
        await runner.cleanup()


async def attach(live: LiveServer, sim: WorkspaceOneSimulator) -> None:
    """The simulator's fleet is deskhand's inventory; the client retries fast."""
    async with live.runtime.db.uow() as uow:
        rows = await uow.repo(DeviceRepo).page(live.runtime.tenant_id, query=None, group_ids=None,
                                               after=None, limit=1000)
    sim.seed_devices(seeds([d for d, _ in rows]))
    live.runtime.tenant_clients.tune("workspace-one", policy=FAST)


@asynccontextmanager
async def wipe_env(tmp_path: Path, *, url: str | None = None,
                   **settings: Any) -> AsyncIterator[tuple[LiveServer, WorkspaceOneSimulator]]:
    async with simulator() as (sim, sim_url):
        port = free_port()
        runner, live = await start_server(make_settings(
            url or sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
            **ws1_settings(sim_url), **settings))
        try:
            await attach(live, sim)
            yield live, sim
        finally:
            await runner.cleanup()


async def device_in(live: LiveServer, group: str) -> Device:
    """A Windows device of the group (the simulator enrols it as WinRT)."""
    async with live.runtime.db.uow() as uow:
        q = (select(Device).join(ManagementGroup, ManagementGroup.id == Device.management_group_id)
             .where(ManagementGroup.name == group).order_by(Device.name))
        rows = (await uow.session.execute(q)).scalars().all()
    return next(d for d in rows if not d.os.startswith("macOS"))


async def wipes(live: LiveServer) -> list[DeviceWipe]:
    async with live.runtime.db.uow() as uow:
        q = select(DeviceWipe).order_by(DeviceWipe.id)
        return list((await uow.session.execute(q)).scalars().all())


async def request_of(live: LiveServer, row: DeviceWipe) -> ApprovalRequest | None:
    kind = "device.wipe" if row.kind == "wipe" else "device.enterprise-wipe"
    async with live.runtime.db.uow() as uow:
        return await uow.repo(ApprovalRepo).for_subject(kind, row.id)


def wipes_sent(sim: WorkspaceOneSimulator, device: str) -> list[str]:
    return [s.kind for s in sim.sent_to(device) if s.kind in WIPE_KINDS]
