"""What the device-action tests on Slack and Teams share: a Workspace ONE simulator on loopback,
its fleet seeded from deskhand's inventory (platforms from the OS), and a phone in London.

The demo fleet is Windows and macOS only, so `add_phone` puts an iPhone in the inventory and the
simulator enrols it as an iOS device: `device find` applies to phones and tablets only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from bot.runtime import Runtime
from integrations.simulator_kit import serve
from integrations.workspace_one.sim_state import Seed
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.audit import AuditEvent
from storage.devices import Device, DeviceRepo, ManagementGroup
from tests.handlers.test_device_actions import CODE, FAST, PASSWORD, USER

PHONE, PHONE_SERIAL, PHONE_OWNER = "IPH-T0001", "F2LXK0T0001", "user001@example.com"


def ws1_settings(url: str) -> dict[str, Any]:
    """deskhand's DESKHAND_WS1_* for the simulator at `url` (Basic account + tenant code)."""
    return {"ws1_url": url, "ws1_username": USER, "ws1_password": PASSWORD,
            "ws1_tenant_code": CODE}


@asynccontextmanager
async def ws1_simulator() -> AsyncIterator[tuple[WorkspaceOneSimulator, str]]:
    sim = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE)
    runner, url = await serve(sim)
    try:
        yield sim, url
    finally:
        await runner.cleanup()


def _platform(os_name: str) -> str:
    """Workspace ONE's platform name for an inventory OS string."""
    lowered = os_name.lower()
    for prefix, platform in (("mac", "AppleOsX"), ("ios", "Apple"), ("ipados", "Apple"),
                             ("android", "Android"), ("linux", "Linux")):
        if lowered.startswith(prefix):
            return platform
    return "WinRT"


async def arm(rt: Runtime, sim: WorkspaceOneSimulator) -> None:
    """Add the phone, enrol the whole inventory in the simulator, and give the runtime a client
    with a quick retry policy (same statuses and rules as production, shorter waits)."""
    async with rt.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        london = await inventory.ensure_group(rt.tenant_id, "London")
        await inventory.upsert(rt.tenant_id, PHONE, serial=PHONE_SERIAL, os="iOS 17.5",
                               management_group_id=london.id, owner_email=PHONE_OWNER)
        await uow.commit()
        rows = await inventory.page(rt.tenant_id, query=None, group_ids=None, after=None,
                                    limit=1000)
    fleet: list[Seed] = [(d.name, d.serial or d.name, None, _platform(d.os), d.os, d.owner_email)
                         for d, _ in rows]
    sim.seed_devices(fleet)
    rt.tenant_clients.tune("workspace-one", policy=FAST)


async def windows_pc(rt: Runtime, group: str) -> str:
    """The first Windows PC of a management group, by name."""
    async with rt.db.uow() as uow:
        q = (select(Device).join(ManagementGroup, ManagementGroup.id == Device.management_group_id)
             .where(ManagementGroup.name == group).order_by(Device.name))
        rows = (await uow.session.execute(q)).scalars().all()
    return next(d.name for d in rows if d.os.startswith("Windows"))


async def audit_of(rt: Runtime, action: str) -> list[AuditEvent]:
    async with rt.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await uow.session.execute(q)).scalars().all())
