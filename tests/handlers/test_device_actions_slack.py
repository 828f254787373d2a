"""`/deskhand device <action>` through Slack's real HTTP path: signed slash commands in, the card
at the fake Slack's response_url, the command at the Workspace ONE simulator (loopback), and the
audit trail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from tests.fakes.slack_api import ALEX, NINA, SAM, Call, SlackEnv, slack_env
from tests.handlers.ws1_env import (
    ACTS,
    CODE,
    PASSWORD,
    aim,
    assert_done,
    audit_of,
    device_in,
    owner_of,
    simulator,
    ws1_settings,
)

Env = tuple[SlackEnv, WorkspaceOneSimulator]
SAM_EMAIL = "sam.standard@example.com"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with simulator() as (sim, url), slack_env(tmp_path, **ws1_settings(url)) as slack:
        await aim(slack.server, sim)
        yield slack, sim


async def ask(env: SlackEnv, user: str, text: str, name: str) -> dict[str, Any]:
    """Send `/deskhand <text>` signed as Slack does; the card posted to its response_url."""
    status, body, took = await env.command(user, "/deskhand", text, response=name)
    assert (status, body) == (200, "") and took < 3  # acked before Workspace ONE is called
    await env.fake.wait_for("response_url", len(env.fake.called("response_url")) + 1)
    found: Call = next(c for c in env.fake.called("response_url") if c.path == f"/response/{name}")
    return found.args


def header(reply: dict[str, Any]) -> str:
    return str(reply["blocks"][0]["text"]["text"])


def fields(reply: dict[str, Any]) -> list[str]:
    """The card's facts as Block Kit shows them: `*Label*\nvalue`."""
    return [f["text"] for b in reply["blocks"] for f in b.get("fields", [])]


async def test_lock_over_slack_sends_once_notes_and_audits(env: Env) -> None:
    slack, sim = env
    pc = await device_in(slack.server, "London")
    reply = await ask(slack, ALEX, f"device lock {pc} for INC0012345", "lock")
    assert reply["response_type"] == "ephemeral"  # only the person who asked sees it
    assert header(reply) == f":white_check_mark: Lock: {pc}" and "sent the lock command" in reply["text"]
    assert fields(reply) == ["*Device*\n" + pc, "*Platform*\nWindows", "*For*\nINC0012345"]
    assert "A note was added to the device" in reply["text"]
    [lock] = sim.sent_to(pc, "Lock")
    assert lock.query == {"command": "Lock"}
    [note] = sim.sent_to(pc, "Note")
    assert "Lock by alex.admin@example.com through deskhand for INC0012345" in note.body["Note"]
    await slack.idle()
    [row] = await audit_of(slack.server, "ws1.lock")
    assert (row.kind, row.outcome, row.target, row.actor_email) == (
        "external", "ok", pc, "alex.admin@example.com")
    assert row.params["ticket"] == "INC0012345" and row.params["ws1_id"] == lock.device_id
    assert f"ref {row.correlation_id}" in reply["text"]
    assert [r.outcome for r in await audit_of(slack.server, "device lock")] == ["ok"]
    said = json.dumps([c.args for c in slack.fake.calls])
    assert PASSWORD not in said and CODE not in said  # Workspace ONE's secrets never reach chat


async def test_sync_by_endpoint_standard_within_scope(env: Env) -> None:
    slack, sim = env
    pc = await device_in(slack.server, "New York")
    reply = await ask(slack, SAM, f"device sync {pc}", "sync")
    assert header(reply) == f":white_check_mark: Sync: {pc}" and "asked" in reply["text"]
    assert [s.kind for s in sim.sent_to(pc)] == ["SyncDevice", "Note"]
    await slack.idle()
    [row] = await audit_of(slack.server, "ws1.sync")
    assert (row.outcome, row.actor_email) == ("ok", "sam.standard@example.com")


async def test_find_plays_the_sound_on_a_phone_and_refuses_a_pc(env: Env) -> None:
    slack, sim = env
    phone = await device_in(slack.server, "London", "IPH-")
    found = await ask(slack, ALEX, f"device find {phone}", "find")
    assert header(found) == f":white_check_mark: Find device: {phone}"
    assert "*Platform*\niOS" in fields(found)
    assert [s.kind for s in sim.sent_to(phone)] == ["FindDevice", "Note"]

    pc = await device_in(slack.server, "London")
    refused = await ask(slack, ALEX, f"device find {pc}", "find-pc")
    assert "Not available on this device" in header(refused)
    assert "a Windows device. It applies to Android, iOS devices" in refused["text"]
    assert sim.sent_to(pc) == []
    await slack.idle()
    assert [r.target for r in await audit_of(slack.server, "ws1.find")] == [phone]


async def test_message_carries_the_text_to_the_device(env: Env) -> None:
    slack, sim = env
    pc = await device_in(slack.server, "London")
    owner = await owner_of(slack.server, pc)  # email validation: `for` names the enrolled user
    text = 'device message {} for {} message="Please restart before 5pm"'
    reply = await ask(slack, ALEX, text.format(pc, owner), "message")
    assert header(reply) == f":white_check_mark: Send a message: {pc}"
    assert f"*For*\n{owner}" in fields(reply)
    [sent] = sim.sent_to(pc, "Message")
    assert sent.body["MessageBody"] == "Please restart before 5pm"
    assert sent.body["MessageType"] == "wns"  # a Windows device gets a WNS push
    await slack.idle()
    [row] = await audit_of(slack.server, "ws1.message")
    assert (row.outcome, row.params["for"]) == ("ok", owner)

    empty = await ask(slack, ALEX, f'device message {pc} message=" "', "empty")
    assert "the message is empty" in empty["text"] and len(sim.sent_to(pc, "Message")) == 1


@pytest.mark.parametrize("action", ["soft-reset", "passcode", "log", "add"])
async def test_each_action_answers_privately_is_sent_noted_and_audited(env: Env, action: str) -> None:
    slack, sim = env
    act = ACTS[action]  # passcode: cleared, on an iPhone
    device = await device_in(slack.server, "London", act.prefix)
    reply = await ask(slack, SAM, act.command.format(d=device), action)  # Endpoint Standard
    assert reply["response_type"] == "ephemeral"
    assert header(reply) == f":white_check_mark: {act.title}: {device}"
    assert fields(reply)[0] == f"*Device*\n{device}"
    assert_done(sim, act, device, SAM_EMAIL)
    await slack.idle()
    [row] = await audit_of(slack.server, act.audited)
    assert (row.kind, row.outcome, row.target, row.actor_email) == ("external", "ok", device, SAM_EMAIL)
    assert row.params["ws1_id"] == sim.sent_to(device)[0].device_id
    assert f"ref {row.correlation_id}" in reply["text"]


async def test_for_someone_else_than_the_enrolled_user_is_refused_and_nothing_sent(env: Env) -> None:
    slack, sim = env
    pc = await device_in(slack.server, "London")
    stranger = "not.the.owner@example.com"
    reply = await ask(slack, SAM, f"device lock {pc} for {stranger}", "mismatch")
    assert "Not the device's user" in header(reply) and reply["response_type"] == "ephemeral"
    assert f"{stranger} is not the user enrolled on {pc}" in reply["text"]
    assert await owner_of(slack.server, pc) not in json.dumps(reply)  # nor who is
    assert sim.sent == [] and not any(k.startswith("POST") for k in sim.hits)
    await slack.idle()
    [row] = await audit_of(slack.server, "ws1.lock")
    assert (row.kind, row.outcome, row.params["for"]) == ("external", "refused", stranger)


async def test_without_the_permission_nothing_reaches_workspace_one(env: Env) -> None:
    slack, sim = env
    pc = await device_in(slack.server, "London")
    denied = await ask(slack, NINA, f"device lock {pc}", "nina")  # no role at all
    assert "Not allowed" in header(denied) and "device lock" in denied["text"]
    outside = await device_in(slack.server, "Singapore")
    scoped = await ask(slack, SAM, f"device lock {outside}", "sam")  # London + New York only
    assert "Not allowed" in header(scoped) and "out of scope" in scoped["text"]
    assert sim.sent == [] and not any(k.startswith("POST") for k in sim.hits)
    await slack.idle()
    denials = [r for r in await audit_of(slack.server, "device.lock")
               + await audit_of(slack.server, "device lock") if r.kind == "denial"]
    assert sorted((r.actor_email, r.outcome) for r in denials) == [
        ("nina.new@example.com", "denied"), ("sam.standard@example.com", "denied")]
    assert await audit_of(slack.server, "ws1.lock") == []
