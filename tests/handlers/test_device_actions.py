"""`device lock|sync|find|message` end to end: console WebSocket -> router -> Workspace ONE
client -> simulator (loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations.workspace_one.models import WS1_PLATFORM, Platform
from tests.handlers.test_remote import ALEX, SAM, audit_rows, console
from tests.handlers.ws1_env import Live, device_in, owner_of, set_tenant, started, text_of


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with started(tmp_path) as env:
        yield env


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
    await set_tenant(server, device_note_after_action=False)
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
