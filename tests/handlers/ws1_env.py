"""The Workspace ONE test kit: a simulator on loopback, deskhand's client aimed at it, and small
readers. The simulator manages deskhand's inventory as `deskhand demo` seeds it
(`handlers.device_actions.demo.seeds`): the demo fleet has Windows (PC-), macOS (MAC-), iOS
(IPH-), Android (AND-) and Linux (LNX-) devices, each enrolled to its owner's email."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers.device_actions.demo import seeds
from integrations.http import RetryPolicy
from integrations.simulator_kit import serve
from integrations.workspace_one.client import POLICY
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.audit import AuditEvent
from storage.devices import Device, DeviceRepo, ManagementGroup
from storage.tenants import SettingsRepo
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server

USER, PASSWORD, CODE = "api-admin", "api-password-0123", "TENANTCODE42"
# Production's statuses and rules with short waits: three tries, as the client makes.
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
Live = tuple[LiveServer, WorkspaceOneSimulator]


@dataclass(frozen=True)
class Act:
    """A non-destructive action as the platform tests drive it."""

    command: str  # what is typed, {d} standing for the device
    prefix: str  # a device it applies to (device_in's prefix)
    title: str  # the answer card's title, before ": <device>"
    sent: str  # the simulator's record of it
    audited: str  # the audit row's action


NOTE_TEXT = "Screen replaced under warranty"
ACTS = {
    "sync": Act("device sync {d}", "PC-", "Sync", "SyncDevice", "ws1.sync"),
    "find": Act("device find {d}", "IPH-", "Find device", "FindDevice", "ws1.find"),
    "soft-reset": Act("device soft-reset {d}", "PC-", "Restart", "SoftReset", "ws1.soft-reset"),
    "passcode": Act("device passcode {d}", "IPH-", "Clear passcode", "ClearPasscode",
                    "ws1.clear-passcode"),
    "log": Act("device log {d}", "PC-", "Request the device log", "RequestDeviceLog", "ws1.log"),
    "add": Act(f'device add {{d}} note="{NOTE_TEXT}"', "PC-", "Add a note", "Note", "ws1.note"),
}


def assert_done(sim: WorkspaceOneSimulator, act: Act, device: str, person: str) -> None:
    """The simulator got the action once, then the note naming it and the person (`add` is
    the note itself: its text, then who added it)."""
    records = sim.sent_to(device)
    if act.sent == "Note":
        [note] = records
        assert note.body["Note"].startswith(f"{NOTE_TEXT} (added by {person}"), note.body
        return
    assert [r.kind for r in records] == [act.sent, "Note"]
    assert f"{act.title} by {person}" in records[1].body["Note"]


def ws1_settings(sim_url: str, user: str = USER, password: str = PASSWORD,
                 code: str = CODE) -> dict[str, Any]:
    """deskhand's DESKHAND_WS1_* for the simulator at `sim_url` (Basic account + tenant code)."""
    return {"ws1_url": sim_url, "ws1_username": user, "ws1_password": password,
            "ws1_tenant_code": code}


@contextlib.asynccontextmanager
async def simulator(user: str = USER, password: str = PASSWORD, code: str = CODE
                    ) -> AsyncIterator[tuple[WorkspaceOneSimulator, str]]:
    """A Workspace ONE simulator on a loopback port taking one Basic account; (sim, its URL)."""
    sim = WorkspaceOneSimulator(accounts={user: password}, tenant_code=code)
    runner, url = await serve(sim)
    try:
        yield sim, url
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def started(tmp_path: Path, *, url: str | None = None, **settings: Any) -> AsyncIterator[Live]:
    """deskhand on a loopback port (database `url`, else SQLite in tmp_path, and `settings`),
    its Workspace ONE client aimed at a simulator on another, seeded from the inventory."""
    async with simulator() as (sim, sim_url):
        port = free_port()
        runner, server = await start_server(make_settings(
            url or sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
            **ws1_settings(sim_url), **settings))
        try:
            await aim(server, sim)
            yield server, sim
        finally:
            await runner.cleanup()


async def fleet(server: LiveServer, tenant_id: int | None = None) -> list[Device]:
    """The tenant's inventory (deskhand's own tenant unless named)."""
    tenant = server.runtime.tenant_id if tenant_id is None else tenant_id
    async with server.runtime.db.uow() as uow:
        rows = await uow.repo(DeviceRepo).page(tenant, query=None, group_ids=None, after=None,
                                               limit=1000)
    return [d for d, _ in rows]


async def aim(server: LiveServer, sim: WorkspaceOneSimulator, tenant_id: int | None = None) -> None:
    """Seed the simulator from the tenant's inventory; aim deskhand's client at it (fast retries)."""
    sim.seed_devices(seeds(await fleet(server, tenant_id)))
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


async def audit_of(server: LiveServer, action: str) -> list[AuditEvent]:
    async with server.runtime.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await uow.session.execute(q)).scalars().all())


def text_of(message: dict[str, Any]) -> str:
    """A console message's card as text."""
    return json.dumps(message["card"])
