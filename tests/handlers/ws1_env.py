"""What the device-action tests share: deskhand on loopback with its Workspace ONE client aimed
at a simulator (seeded from the demo fleet, as `deskhand demo` seeds it), and small readers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers.device_actions.demo import seeds
from integrations.http import RetryPolicy
from integrations.simulator_kit import serve
from integrations.workspace_one.client import POLICY
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.devices import Device, DeviceRepo, ManagementGroup
from storage.tenants import SettingsRepo
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server

USER, PASSWORD, CODE = "api-admin", "api-password-0123", "TENANTCODE42"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
Live = tuple[LiveServer, WorkspaceOneSimulator]


@contextlib.asynccontextmanager
async def started(tmp_path: Path) -> AsyncIterator[Live]:
    """deskhand on a loopback port, its Workspace ONE client aimed at a simulator on another."""
    sim = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE)
    sim_runner, sim_url = await serve(sim)
    port = free_port()
    runner, server = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
        **ws1_settings(sim_url)))
    try:
        await aim(server, sim)
        yield server, sim
    finally:
        await runner.cleanup()
        await sim_runner.cleanup()


def ws1_settings(sim_url: str) -> dict[str, Any]:
    return {"ws1_url": sim_url, "ws1_username": USER, "ws1_password": PASSWORD,
            "ws1_tenant_code": CODE}


async def aim(server: LiveServer, sim: WorkspaceOneSimulator) -> None:
    """Seed the simulator from deskhand's inventory; aim deskhand's client at it (fast retries)."""
    async with server.runtime.db.uow() as uow:
        rows = await uow.repo(DeviceRepo).page(server.runtime.tenant_id, query=None,
                                               group_ids=None, after=None, limit=1000)
    sim.seed_devices(seeds([d for d, _ in rows]))
    server.runtime.tenant_clients.tune("workspace-one", policy=FAST)


async def device_in(server: LiveServer, group: str, prefix: str = "PC-") -> str:
    """The first device of `group` whose name starts so (PC- Windows, MAC-, IPH-, AND-, LNX-)."""
    async with server.runtime.db.uow() as uow:
        q = (select(Device).join(ManagementGroup, ManagementGroup.id == Device.management_group_id)
             .where(ManagementGroup.name == group).order_by(Device.name))
        rows = (await uow.session.execute(q)).scalars().all()
    return next(d.name for d in rows if d.name.startswith(prefix))


async def inventory(server: LiveServer, name: str) -> Device:
    async with server.runtime.db.uow() as uow:
        device = await uow.repo(DeviceRepo).find(server.runtime.tenant_id, name)
    assert device is not None
    return device


async def owner_of(server: LiveServer, name: str) -> str:
    """The device's owner: the user Workspace ONE has enrolled on it (demo.seeds)."""
    owner = (await inventory(server, name)).owner_email
    assert owner
    return owner


async def set_tenant(server: LiveServer, **values: Any) -> None:
    async with server.runtime.db.uow() as uow:
        settings = uow.repo(SettingsRepo)
        current = await settings.get(server.runtime.tenant_id)
        await settings.put(server.runtime.tenant_id, {**current, **values}, "test")
        await uow.commit()


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["card"])
