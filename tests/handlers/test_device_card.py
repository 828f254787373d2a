"""`device <device>`: the card, its buttons per person, clicks that run the action as the command
does, forms for actions that take a value, and recovery keys that reach their requester only."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from storage.audit import AuditEvent
from tests.bot.platforms._drivers import ConsoleClient, persona_id
from tests.handlers.test_remote import ALEX, RILEY, SAM, audit_rows, button, console, field
from tests.handlers.ws1_env import Live, device_in, inventory, started, text_of

AUDREY = "audrey.auditor@example.com"  # no device.read


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with started(tmp_path) as env:
        yield env


def labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for b in message["card"]["buttons"]]


async def submit(client: ConsoleClient, message: dict[str, Any], label: str,
                 inputs: dict[str, str]) -> dict[str, Any]:
    found = button(message, label)
    await client.ws.send_json({"type": "action", "message_id": message["id"],
                              "action_id": found["action_id"], "value": found["value"],
                              "inputs": inputs})
    return await client.next()


async def clicked(client: ConsoleClient, message: dict[str, Any], label: str) -> dict[str, Any]:
    await client.click(message, button(message, label))
    return await client.next()


async def test_the_card_shows_the_device_and_the_actions_sam_may_run_there(live: Live) -> None:
    server, sim = live
    pc, phone = await device_in(server, "London"), await device_in(server, "London", "AND-")
    async with console(server, SAM) as sam:
        card = await sam.say(f"device {pc}")
        mobile = await sam.say(f"device {phone}")
    assert card["private"] and card["card"]["title"] == f"Device {pc}"
    ws1 = next(d for d in sim.devices if d.name == pc)
    assert field(card, "Platform") == "Windows" and field(card, "Model") == "Latitude 7440"
    assert field(card, "OS") == ws1.os and field(card, "Management group") == "London"
    assert field(card, "Enrolled user").startswith(ws1.email)
    assert "UTC" in field(card, "Last seen in Workspace ONE")
    assert labels(card) == ["Lock", "Sync", "Restart", "Send a message\u2026",
                            "Request the device log", "Show the recovery key", "Add a note\u2026"]
    assert labels(mobile) == ["Lock", "Sync", "Restart", "Find device", "Send a message\u2026",
                              "Clear passcode", "Change passcode\u2026", "Request the device log",
                              "Add a note\u2026"]
    device_id = (await inventory(server, pc)).id
    assert button(card, "Lock")["action_id"] == f"device.do:lock:{device_id}"
    assert button(card, "Lock")["confirm"] is not None  # disruptive: asked again first
    assert "confirm" not in button(card, "Sync")
    assert sim.sent_to(pc) == [] and sim.sent_to(phone) == []  # showing sends nothing


async def test_a_reader_sees_the_card_without_buttons_and_others_not_at_all(live: Live) -> None:
    server, _ = live
    pc, abroad = await device_in(server, "London"), await device_in(server, "Singapore")
    async with console(server, RILEY) as riley, console(server, AUDREY) as audrey, \
            console(server, SAM) as sam:
        read = await riley.say(f"device {pc}")
        refused = await audrey.say(f"device {pc}")
        outside = await sam.say(f"device {abroad}")
    assert read["card"]["title"] == f"Device {pc}" and labels(read) == []
    assert "may not run any device action" in text_of(read)
    assert refused["card"]["title"] == outside["card"]["title"] == "Not allowed"
    assert "out of scope" in text_of(outside)


async def test_the_card_button_answers_the_same_card(live: Live) -> None:
    server, _ = live
    pc = await device_in(server, "London")
    device_id = (await inventory(server, pc)).id
    async with console(server, SAM) as sam:
        typed = await sam.say(f"device {pc}")
        await sam.ws.send_json({"type": "action", "message_id": typed["id"],
                                "action_id": f"device.card:{device_id}", "value": ""})
        again = await sam.next()
        await sam.ws.send_json({"type": "action", "message_id": typed["id"],
                                "action_id": "device.card:99999999", "value": ""})
        gone = await sam.next()
    assert again["private"] and again["card"]["title"] == typed["card"]["title"]
    assert labels(again) == labels(typed) and field(again, "OS") == field(typed, "OS")
    assert gone["card"]["title"] == "Device not found"


async def test_a_click_runs_the_action_as_the_command_does(live: Live) -> None:
    server, sim = live
    pc = await device_in(server, "London")
    async with console(server, SAM) as sam:
        card = await sam.say(f"device {pc}")
        synced = await clicked(sam, card, "Sync")
        reset = await clicked(sam, card, "Restart")
    assert synced["private"] and synced["card"]["title"] == f"Sync: {pc}"
    assert reset["card"]["title"] == f"Restart: {pc}"
    assert [s.kind for s in sim.sent_to(pc) if s.kind != "Note"] == ["SyncDevice", "SoftReset"]
    assert "Sync by sam.standard@example.com" in sim.sent_to(pc, "Note")[0].body["Note"]
    assert [(r.kind, r.outcome, r.actor_email) for r in await audit_rows(server, "ws1.sync")] == [
        ("external", "ok", SAM)]
    assert [r.outcome for r in await audit_rows(server, "device.do")] == ["ok", "ok"]


async def test_a_click_is_checked_again_from_the_rows_never_the_card(live: Live) -> None:
    server, sim = live
    pc = await device_in(server, "London")
    async with console(server, SAM) as sam, console(server, RILEY) as riley:
        card = await sam.say(f"device {pc}")
        # Riley (reads London, runs nothing) clicks Sam's Lock button: refused, nothing sent.
        await riley.ws.send_json({"type": "action", "message_id": card["id"],
                                  "action_id": button(card, "Lock")["action_id"], "value": ""})
        refused = await riley.next()
    assert refused["card"]["title"] == "Not allowed" and sim.sent_to(pc) == []
    assert [r.kind for r in await audit_rows(server, "device.do")] == ["denial"]


async def test_actions_that_take_a_value_open_a_form_whose_value_is_sent(live: Live) -> None:
    server, sim = live
    pc, phone = await device_in(server, "London"), await device_in(server, "London", "AND-")
    async with console(server, SAM) as sam:
        card = await sam.say(f"device {pc}")
        form = await clicked(sam, card, "Send a message\u2026")
        empty = await submit(sam, form, "Send", {"message": "  "})
        sent = await submit(sam, form, "Send", {"message": "Please restart before 5pm"})
        note_form = await clicked(sam, card, "Add a note\u2026")
        noted = await submit(sam, note_form, "Add", {"note": "Dock replaced"})
        phone_card = await sam.say(f"device {phone}")
        pass_form = await clicked(sam, phone_card, "Change passcode\u2026")
        bad = await submit(sam, pass_form, "Send", {"passcode": "12"})
        changed = await submit(sam, pass_form, "Send", {"passcode": "482913"})
    inputs = [s for s in form["card"]["sections"] if s["type"] == "text_input"]
    assert [(i["id"], i["required"]) for i in inputs] == [("message", True)]
    assert empty["card"]["title"] == "That didn't work"
    assert sent["card"]["title"] == f"Send a message: {pc}"
    assert [s.body["MessageBody"] for s in sim.sent_to(pc, "Message")] == [
        "Please restart before 5pm"]
    assert noted["card"]["title"] == f"Add a note: {pc}"
    assert any(s.body["Note"].startswith("Dock replaced (added by") for s in sim.sent_to(pc, "Note"))
    assert "passcode" in text_of(bad).lower() and "4 to 16" in text_of(bad)
    assert changed["card"]["title"] == f"Change passcode: {phone}" and "482913" not in text_of(changed)
    assert [s.body["Passcode"] for s in sim.sent_to(phone, "ChangePasscode")] == ["482913"]


# --- recovery keys ---------------------------------------------------------------------------

async def everything_received(client: ConsoleClient, until_title: str) -> list[Any]:
    """Every frame `client` got until a card titled `until_title` (asked for after the rest)."""
    frames = []
    while True:
        frame = await asyncio.wait_for(client.ws.receive_json(), 10)
        frames.append(frame)
        if frame.get("type") == "message" and frame["message"]["card"].get("title") == until_title:
            return frames


async def test_a_recovery_key_reaches_its_requester_only_and_is_kept_nowhere(
        live: Live, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, sim = live
    pc, mac = await device_in(server, "London"), await device_in(server, "New York", "MAC-")
    bitlocker = next(d for d in sim.devices if d.name == pc).bitlocker_key
    filevault = next(d for d in sim.devices if d.name == mac).filevault_key
    assert bitlocker and filevault
    async with console(server, ALEX) as alex, console(server, SAM) as sam:
        shown = await sam.say(f"device recovery-key {pc}")
        card = await sam.say(f"device {mac}")
        clicked_key = await clicked(sam, card, "Show the recovery key")
        await alex.ws.send_json({"type": "command", "text": "whoami"})  # in the same room all along
        alex_got = json.dumps(await everything_received(alex, "You are Alex Admin"))
    assert shown["private"] and clicked_key["private"]
    assert shown["card"]["title"] == f"Recovery key: {pc}" and bitlocker in text_of(shown)
    assert clicked_key["card"]["title"] == f"Recovery key: {mac}" and filevault in text_of(clicked_key)
    assert "Only you can see this" in text_of(shown)
    assert bitlocker not in alex_got and filevault not in alex_got and pc not in alex_got
    # The reveal is audited (who, which device, how many keys) without the key.
    rows = await audit_rows(server, "ws1.recovery-key")
    assert [(r.kind, r.outcome, r.actor_email, r.target, r.params["kind"], r.params["found"])
            for r in rows] == [("external", "ok", SAM, pc, "BitLocker", 1),
                               ("external", "ok", SAM, mac, "FileVault", 1)]
    async with server.runtime.db.uow() as uow:
        every_row = (await uow.session.execute(select(AuditEvent))).scalars().all()
    stored = json.dumps([(r.action, r.params, r.detail, r.target) for r in every_row])
    assert bitlocker not in stored and filevault not in stored
    # The note on the device names the reveal, not the key.
    notes = [s.body["Note"] for s in sim.sent_to(pc, "Note")]
    assert len(notes) == 1 and "Show the recovery key by sam.standard@example.com" in notes[0]
    assert bitlocker not in json.dumps([s.body for s in sim.sent])
    # Nowhere in the database files (inbox, card copies, anything) and in no log record.
    files = await asyncio.to_thread(lambda: [p.read_bytes() for p in tmp_path.rglob("*.db*")])
    assert files, "the test reads the database files deskhand wrote"
    database = b"".join(files)
    assert bitlocker.encode() not in database and filevault.encode() not in database
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert bitlocker not in logged and filevault not in logged


async def test_a_newcomer_to_the_console_room_is_not_handed_someone_elses_key(live: Live) -> None:
    server, sim = live
    pc = await device_in(server, "London")
    key = next(d for d in sim.devices if d.name == pc).bitlocker_key
    async with console(server, SAM) as sam:
        assert key in text_of(await sam.say(f"device recovery-key {pc}"))
    pid = await persona_id(server, ALEX)
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{server.url}/console/ws?persona={pid}") as ws:
        hello = await ws.receive_json()
    assert hello["type"] == "hello" and key not in json.dumps(hello)
