"""`device soft-reset|passcode|log|recovery-key|add`, the per-action permissions, the platforms
each applies to, and email validation (`for <email>`), through the console WebSocket, the router
and the Workspace ONE client to its simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.rbac import DeviceScope, decide, grants_of
from bot.tenant_settings import parse_value
from handlers.devices import DeviceSettings
from storage.directory import DirectoryRepo
from tests.handlers.test_remote import ALEX, RILEY, SAM, audit_rows, console
from tests.handlers.ws1_env import Live, device_in, owner_of, set_tenant, started, text_of

NEW_ACTIONS = ("soft-reset", "passcode", "log", "recovery-key", "add")


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with started(tmp_path) as env:
        yield env


async def test_endpoint_standard_runs_each_new_action_with_its_note_and_audit(live: Live) -> None:
    server, sim = live
    pc, iphone = await device_in(server, "London"), await device_in(server, "London", "IPH-")
    android = await device_in(server, "London", "AND-")
    async with console(server, SAM) as sam:
        reset = await sam.say(f"device soft-reset {pc} for INC0012345")
        cleared = await sam.say(f"device passcode {iphone}")
        changed = await sam.say(f"device passcode {android} passcode=482913")
        logged = await sam.say(f"device log {pc}")
        added = await sam.say(f'device add {pc} note="Screen replaced under warranty"')
    assert [m["card"]["title"] for m in (reset, cleared, changed, logged, added)] == [
        f"Restart: {pc}", f"Clear passcode: {iphone}", f"Change passcode: {android}",
        f"Request the device log: {pc}", f"Add a note: {pc}"]
    assert all(m["private"] for m in (reset, cleared, changed, logged, added))
    assert [s.kind for s in sim.sent_to(pc) if s.kind != "Note"] == ["SoftReset", "RequestDeviceLog"]
    assert [s.kind for s in sim.sent_to(iphone) if s.kind != "Note"] == ["ClearPasscode"]
    assert [s.body["Passcode"] for s in sim.sent_to(android, "ChangePasscode")] == ["482913"]
    assert "482913" not in text_of(changed)
    notes = [s.body["Note"] for s in sim.sent_to(pc, "Note")]
    # One note after the restart and one after the log request; `add` is the note itself.
    assert len(notes) == 3 and "Restart by sam.standard@example.com" in notes[0]
    assert "for INC0012345" in notes[0] and "Request the device log by" in notes[1]
    assert notes[2].startswith("Screen replaced under warranty (added by sam.standard@example.com")
    assert "482913" not in " ".join(s.body.get("Note", "") for s in sim.sent_to(android))
    for action, device in (("soft-reset", pc), ("clear-passcode", iphone),
                           ("change-passcode", android), ("log", pc), ("note", pc)):
        rows = await audit_rows(server, f"ws1.{action}")
        assert [(r.kind, r.outcome, r.target, r.actor_email) for r in rows] == [
            ("external", "ok", device, SAM)], action
    # The passcode typed on the command line is not in the command's audit row either.
    rows = await audit_rows(server, "device passcode")
    assert [r.outcome for r in rows] == ["ok", "ok"]
    assert all("482913" not in f"{r.params} {r.detail}" for r in rows)


async def test_without_the_permission_each_action_is_refused_audited_and_not_sent(
        live: Live) -> None:
    server, sim = live
    pc = await device_in(server, "London")
    async with console(server, RILEY) as riley:  # Remote Support: reads London, acts on nothing
        answers = [await riley.say(f'device {word} {pc} note="x"' if word == "add"
                                   else f"device {word} {pc}") for word in NEW_ACTIONS]
    assert [a["card"]["title"] for a in answers] == ["Not allowed"] * len(NEW_ACTIONS)
    assert sim.sent_to(pc) == []
    for word in NEW_ACTIONS:
        assert [(r.kind, r.outcome) for r in await audit_rows(server, f"device {word}")] == [
            ("denial", "denied")], word
    # Sam holds them on London and New York only: a Singapore device is refused for its group.
    abroad = await device_in(server, "Singapore")
    async with console(server, SAM) as sam:
        denied = await sam.say(f"device log {abroad}")
    assert denied["card"]["title"] == "Not allowed" and "out of scope" in text_of(denied)
    assert [(r.kind, r.target) for r in await audit_rows(server, "device.log")] == [
        ("denial", abroad)]
    assert sim.sent_to(abroad) == []


async def test_endpoint_standard_holds_every_action_but_the_wipes(live: Live) -> None:
    server, _ = live
    async with server.runtime.db.uow() as uow:
        sam = await uow.repo(DirectoryRepo).principal_by_email(server.runtime.tenant_id, SAM)
        assert sam is not None
        grants = await grants_of(uow, server.runtime.tenant_id, sam.id)
    london = DeviceScope("PC-0001", "London")
    allowed = {p for p in ("device.lock", "device.sync", "device.soft_reset", "device.find",
                           "device.message", "device.passcode", "device.log",
                           "device.recovery_key", "device.add", "device.wipe",
                           "device.enterprise_wipe") if decide(grants, p, device=london).allowed}
    assert allowed == {"device.lock", "device.sync", "device.soft_reset", "device.find",
                       "device.message", "device.passcode", "device.log", "device.recovery_key",
                       "device.add"}


@pytest.mark.parametrize(("command", "prefix", "platform", "where"), [
    ("device passcode {d}", "PC-", "Windows", "Android, iOS"),
    ("device passcode {d} passcode=482913", "IPH-", "iOS", "Android"),
    ("device log {d}", "LNX-", "Linux", "Android, iOS, macOS, Windows"),
    ("device recovery-key {d}", "AND-", "Android", "macOS, Windows"),
])
async def test_an_action_the_platform_does_not_take_is_refused_naming_where_it_applies(
        live: Live, command: str, prefix: str, platform: str, where: str) -> None:
    server, sim = live
    device = await device_in(server, "New York", prefix)
    async with console(server, ALEX) as alex:
        refused = await alex.say(command.format(d=device))
    assert refused["card"]["title"] == "Not available on this device"
    assert f"a {platform} device. It applies to {where} devices" in text_of(refused)
    assert sim.sent_to(device) == []


async def test_soft_reset_and_add_apply_to_every_platform(live: Live) -> None:
    server, sim = live
    devices = [await device_in(server, "New York", p) for p in ("PC-", "MAC-", "IPH-", "AND-", "LNX-")]
    async with console(server, ALEX) as alex:
        for device in devices:
            assert (await alex.say(f"device soft-reset {device}"))["card"]["tone"] == "good"
            assert (await alex.say(f'device add {device} note="checked"'))["card"]["tone"] == "good"
    assert all([s.kind for s in sim.sent_to(d) if s.kind != "Note"] == ["SoftReset"] for d in devices)


# --- email validation ------------------------------------------------------------------------

async def test_for_the_devices_own_user_goes_through_whatever_the_case(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    owner = await owner_of(server, device)
    async with console(server, SAM) as sam:
        done = await sam.say(f"device soft-reset {device} for {owner.upper()}")
    assert done["card"]["title"] == f"Restart: {device}"
    assert len(sim.sent_to(device, "SoftReset")) == 1
    assert f"for {owner}" in sim.sent_to(device, "Note")[0].body["Note"]


async def test_for_someone_else_is_refused_says_why_and_is_audited(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    owner = await owner_of(server, device)
    stranger = "not.the.owner@example.com"
    async with console(server, SAM) as sam:
        refused = await sam.say(f"device lock {device} for {stranger}")
        add = await sam.say(f'device add {device} for {stranger} note="x"')
    assert refused["card"]["title"] == "Not the device's user"
    said = text_of(refused)
    assert f"{stranger} is not the user enrolled on {device}" in said
    assert owner not in said and owner.split("@")[0] not in said  # nobody learns who owns it
    assert add["card"]["title"] == "Not the device's user"
    assert sim.sent_to(device) == []
    [row] = await audit_rows(server, "ws1.lock")
    assert (row.kind, row.outcome, row.target, row.params["for"]) == (
        "external", "refused", device, stranger)
    assert "email validation" in (row.detail or "") and owner not in str(row.params)
    assert [r.outcome for r in await audit_rows(server, "device lock")] == ["refused"]


async def test_an_email_on_the_exception_list_or_the_setting_off_skips_the_check(
        live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, SAM) as sam:
        await set_tenant(server, email_validation_exceptions=["vip.assistant@example.com"])
        exempt = await sam.say(f"device sync {device} for VIP.Assistant@example.com")
        other = await sam.say(f"device sync {device} for someone@example.com")
        await set_tenant(server, email_validation=False)
        off = await sam.say(f"device sync {device} for someone@example.com")
        ticket = await sam.say(f"device sync {device} for INC0012345")  # no caller known yet
    assert exempt["card"]["title"] == off["card"]["title"] == ticket["card"]["title"] == \
        f"Sync: {device}"
    assert other["card"]["title"] == "Not the device's user"
    assert len(sim.sent_to(device, "SyncDevice")) == 3


async def test_the_exception_list_takes_emails_only_within_its_limit() -> None:
    assert parse_value(DeviceSettings, "email_validation_exceptions",
                       "A@Example.com, b@example.com,a@example.com") == ["a@example.com",
                                                                          "b@example.com"]
    with pytest.raises(ValueError, match="takes email addresses; `helpdesk` is not one"):
        parse_value(DeviceSettings, "email_validation_exceptions", "a@example.com,helpdesk")
    many = ",".join(f"u{n}@example.com" for n in range(201))
    with pytest.raises(ValueError, match="at most 200 emails"):
        parse_value(DeviceSettings, "email_validation_exceptions", many)


async def test_a_lookup_workspace_one_refuses_is_the_actions_failure(live: Live) -> None:
    server, sim = live
    pc = await device_in(server, "London")
    sim.switches.fail_next, sim.switches.fail_status, sim.switches.fail_path = 10, 500, "/mdm/devices"
    async with console(server, SAM) as sam:
        failed = await sam.say(f"device log {pc}")
    assert failed["card"]["title"].startswith("Workspace ONE") and "ref " in text_of(failed)
    assert failed["card"]["tone"] != "good"
    assert "Traceback" not in text_of(failed)
    [row] = await audit_rows(server, "ws1.log")
    assert (row.kind, row.outcome, row.params["ws1_id"]) == ("external", "failed", None)
    assert sim.sent == []
