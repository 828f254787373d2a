"""`device lock|sync|find|message` end to end: console WebSocket -> router -> Workspace ONE
client -> simulator (loopback)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from handlers.device_actions.demo import seeds
from handlers.device_actions.service import WorkspaceOne
from integrations.http import RetryPolicy
from integrations.simulator_kit import serve
from integrations.workspace_one.client import POLICY
from integrations.workspace_one.models import WS1_PLATFORM, Platform
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.devices import Device, DeviceRepo, ManagementGroup
from storage.tenants import SettingsRepo
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server
from tests.handlers.test_remote import ALEX, SAM, audit_rows, console

USER, PASSWORD, CODE = "api-admin", "api-password-0123", "TENANTCODE42"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
Live = tuple[LiveServer, WorkspaceOneSimulator]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    """deskhand on a loopback port, its Workspace ONE client aimed at a simulator on another."""
    sim = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE)
    sim_runner, sim_url = await serve(sim)
    port = free_port()
    runner, server = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}", ws1_url=sim_url,
        ws1_username=USER, ws1_password=PASSWORD, ws1_tenant_code=CODE))
    try:
        async with server.runtime.db.uow() as uow:
            rows = await uow.repo(DeviceRepo).page(server.runtime.tenant_id, query=None,
                                                   group_ids=None, after=None, limit=1000)
        sim.seed_devices(seeds([d for d, _ in rows]))
        server.runtime.services.put(WorkspaceOne, WorkspaceOne(server.runtime, policy=FAST))
        yield server, sim
    finally:
        await runner.cleanup()
        await sim_runner.cleanup()


async def device_in(server: LiveServer, group: str, prefix: str = "PC-") -> str:
    """The first device of `group` whose name starts so (PC- Windows, MAC-, IPH-, AND-, LNX-)."""
    async with server.runtime.db.uow() as uow:
        q = (select(Device).join(ManagementGroup, ManagementGroup.id == Device.management_group_id)
             .where(ManagementGroup.name == group).order_by(Device.name))
        rows = (await uow.session.execute(q)).scalars().all()
    return next(d.name for d in rows if d.name.startswith(prefix))


async def owner_of(server: LiveServer, name: str) -> str:
    """The device's owner: the user Workspace ONE has enrolled on it (demo.seeds)."""
    async with server.runtime.db.uow() as uow:
        device = await uow.repo(DeviceRepo).find(server.runtime.tenant_id, name)
    assert device is not None and device.owner_email
    return device.owner_email


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["card"])


async def test_each_action_is_sent_once_noted_and_audited(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "New York")
    owner = await owner_of(server, device)
    async with console(server, ALEX) as alex:
        locked = await alex.say(f"device lock {device} for INC0012345")
        synced = await alex.say(f"device sync {device}")
        told = await alex.say(f'device message {device} for {owner.upper()} message="Restart please"')
    assert locked["private"] is True and locked["card"]["title"] == f"Lock: {device}"
    assert "A note was added" in text_of(locked) and synced["card"]["title"] == f"Sync: {device}"
    assert told["card"]["title"] == f"Send a message: {device}"
    assert [s.kind for s in sim.sent_to(device) if s.kind != "Note"] == ["Lock", "SyncDevice", "Message"]
    assert sim.sent_to(device, "Message")[0].body["MessageBody"] == "Restart please"
    notes = [s.body["Note"] for s in sim.sent_to(device, "Note")]
    assert len(notes) == 3 and "Lock by alex.admin@example.com" in notes[0]
    assert "for INC0012345" in notes[0] and f"for {owner}" in notes[2]
    rows = await audit_rows(server, "ws1.lock")
    assert [(r.kind, r.outcome, r.target) for r in rows] == [("external", "ok", device)]


async def test_find_is_sent_to_a_phone(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    phone = next(d for d in sim.devices if d.name == device)  # enrolled as an iPhone instead
    phone.platform, phone.platform_name = Platform.IOS, WS1_PLATFORM[Platform.IOS]
    async with console(server, ALEX) as alex:
        found = await alex.say(f"device find {device}")
    assert found["card"]["title"] == f"Find device: {device}"
    assert [s.kind for s in sim.sent_to(device) if s.kind != "Note"] == ["FindDevice"]


async def test_an_action_the_platform_does_not_take_names_where_it_applies(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        refused = await alex.say(f"device find {device}")
    assert refused["card"]["title"] == "Not available on this device"
    assert "a Windows device. It applies to Android, iOS devices" in text_of(refused)
    assert sim.sent_to(device) == []


async def test_outside_the_persons_groups_is_denied_and_nothing_sent(live: Live) -> None:
    server, sim = live
    outside, inside = await device_in(server, "Singapore"), await device_in(server, "London")
    async with console(server, SAM) as sam:
        denied = await sam.say(f"device lock {outside}")
        allowed = await sam.say(f"device lock {inside}")
    assert denied["card"]["title"] == "Not allowed" and "out of scope" in denied["card"]["fallback"]
    assert allowed["card"]["title"] == f"Lock: {inside}"
    assert sim.sent_to(outside) == [] and len(sim.sent_to(inside, "Lock")) == 1
    assert [(r.kind, r.target) for r in await audit_rows(server, "device.lock")
            if r.kind == "denial"] == [("denial", outside)]


async def test_no_note_when_the_tenant_turned_it_off(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with server.runtime.db.uow() as uow:
        settings = uow.repo(SettingsRepo)
        values = await settings.get(server.runtime.tenant_id)
        await settings.put(server.runtime.tenant_id, {**values, "device_note_after_action": False},
                           "test")
        await uow.commit()
    async with console(server, ALEX) as alex:
        done = await alex.say(f"device sync {device}")
    assert "A note was added" not in text_of(done)
    assert [s.kind for s in sim.sent_to(device)] == ["SyncDevice"]


async def test_a_vendor_500_is_answered_plainly_with_the_reference_and_audited(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    sim.switches.fail_next, sim.switches.fail_status, sim.switches.fail_path = 1, 500, "/commands"
    async with console(server, ALEX) as alex:
        failed = await alex.say(f"device lock {device}")
    card = failed["card"]
    assert card["title"] == "Workspace ONE did not do it"
    assert "may or may not have reached the device" in text_of(failed)
    assert "Traceback" not in text_of(failed) and "ref " in text_of(failed)
    assert sim.sent_to(device) == []
    rows = await audit_rows(server, "ws1.lock")
    assert [(r.kind, r.outcome) for r in rows] == [("external", "failed")]
