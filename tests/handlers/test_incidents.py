"""`incident <number>` and `incident list` over the console WebSocket, ServiceNow played by its
simulator on loopback: the card's fields, the buttons each person may use, and the refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.handlers.incidents_env import SnowEnv, snow_env
from tests.workflows.env import ALEX, NINA, RILEY, SAM, console, field

OWNER_NAME = "User"  # sys_user names made from an owner's email: user012@... -> "User012"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SnowEnv]:
    async with snow_env(tmp_path) as e:
        yield e


def labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for b in message["card"]["buttons"]]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["card"])


async def test_the_card_shows_the_incident_caller_device_and_assignee(env: SnowEnv) -> None:
    inc = env.incidents
    owner = inc.london_device.owner_email or ""
    async with console(env.env.live, ALEX) as alex:
        card = await alex.say(f"incident {inc.london.lower()}")
    assert card["private"] is True
    assert card["card"]["title"] == f"{inc.london}: Laptop will not connect to VPN"
    assert field(card, "Number") == inc.london and field(card, "State") == "In Progress"
    assert field(card, "Caller").endswith(f"<{owner}>") and field(card, "Caller").startswith(OWNER_NAME)
    assert field(card, "Device") == f"{inc.london_device.name} (London)"
    assert field(card, "Assigned to") == "Riley Remote"
    device = inc.london_device.id
    assert [(b["label"], b["action_id"]) for b in card["card"]["buttons"]] == [
        ("Remote", f"remote.start:{device}:{inc.london}"),
        ("Run instruction", f"incident.run:{device}:{inc.london}"),
        ("Device actions", f"device.card:{device}:{inc.london}")]


async def test_only_the_buttons_the_person_may_use_are_drawn(env: SnowEnv) -> None:
    inc = env.incidents
    async with console(env.env.live, RILEY) as riley:  # Remote Support over London
        london = await riley.say(f"incident {inc.london}")
        abroad = await riley.say(f"incident {inc.singapore}")
    async with console(env.env.live, SAM) as sam:  # Endpoint Standard over London and New York
        as_sam = await sam.say(f"incident {inc.london}")
    assert labels(london) == ["Remote", "Device actions"]
    assert labels(abroad) == [] and field(abroad, "Device").endswith("(Singapore)")
    assert f"You may not act on {inc.singapore_device.name}" in text_of(abroad)
    assert labels(as_sam) == ["Device actions"]


async def test_a_device_the_inventory_does_not_know_gets_no_device_buttons(env: SnowEnv) -> None:
    async with console(env.env.live, ALEX) as alex:
        card = await alex.say(f"incident {env.incidents.printer}")
    assert field(card, "Device") == "PRN-3F-EAST" and labels(card) == []
    assert "PRN-3F-EAST is not in deskhand's inventory" in text_of(card)


async def test_unknown_and_malformed_incidents_are_refused_plainly(env: SnowEnv) -> None:
    async with console(env.env.live, ALEX) as alex:
        unknown = await alex.say("incident INC0099999")
        malformed = await alex.say("incident 12345")
        sneaky = await alex.say("incident INC001^ORnumber!=x")
    assert unknown["card"]["title"] == "Unknown incident"
    assert "ServiceNow has no incident INC0099999" in text_of(unknown) and "ref " in text_of(unknown)
    assert malformed["card"]["title"] == "Check the command"
    assert "not an incident number like INC0010023" in text_of(malformed)
    assert sneaky["card"]["title"] == "Check the command"  # never reaches an encoded query


async def test_incident_list_open_and_mine(env: SnowEnv) -> None:
    inc = env.incidents
    async with console(env.env.live, RILEY) as riley:
        opened = await riley.say("incident list")
        mine = await riley.say("incident list mine")
    async with console(env.env.live, NINA) as nina:  # no help-desk role
        denied = await nina.say("incident list")

    def numbers(message: dict[str, Any]) -> set[str]:
        table = next(s for s in message["card"]["sections"] if s["type"] == "table")
        return {row[0] for row in table["rows"]}

    assert opened["card"]["title"] == "Open incidents"
    assert numbers(opened) == {inc.london, inc.singapore, inc.printer}
    assert mine["card"]["title"] == "Your incidents"
    assert numbers(mine) == {inc.london, inc.resolved}  # assigned to Riley, or called in by Riley
    assert denied["card"]["title"] == "Not allowed" and "incident.read" in text_of(denied)


async def test_servicenow_refusals_are_answered_with_a_clear_message_and_reference(
        env: SnowEnv) -> None:
    sw = env.snow.switches
    async with console(env.env.live, ALEX) as alex:
        sw.unauthorized_next = 5
        refused = await alex.say(f"incident {env.incidents.london}")
        sw.unauthorized_next = 0
        sw.rate_limit_next, sw.retry_after = 5, 120
        busy = await alex.say(f"incident {env.incidents.london}")
        sw.rate_limit_next = 0
        sw.fail_next, sw.fail_status = 5, 500
        broken = await alex.say("incident list")
        sw.fail_next = 0
        fine = await alex.say(f"incident {env.incidents.london}")
    assert refused["card"]["title"] == "ServiceNow refused deskhand's sign-in"
    assert "(401)" in text_of(refused) and "integration user" in text_of(refused)
    assert busy["card"]["title"] == "ServiceNow is busy" and "rate limiting" in text_of(busy)
    assert broken["card"]["title"] == "ServiceNow did not do it" and "HTTP 500" in text_of(broken)
    for answer in (refused, busy, broken):
        assert "ref " in text_of(answer) and "Traceback" not in text_of(answer)
        assert "snow-password" not in text_of(answer)
    assert fine["card"]["title"].startswith(env.incidents.london)


async def test_without_servicenow_the_command_says_how_to_set_it_up(tmp_path: Path) -> None:
    async with snow_env(tmp_path, configured=False) as env, console(env.env.live, ALEX) as alex:
        card = await alex.say(f"incident {env.incidents.london}")
        listed = await alex.say("incident list mine")
    assert card["card"]["title"] == "ServiceNow is not set up"
    assert "DESKHAND_SERVICENOW_URL" in text_of(card) and "ref " in text_of(card)
    assert listed["card"]["title"] == "ServiceNow is not set up"


async def test_the_field_naming_the_device_is_the_tenants_setting(env: SnowEnv) -> None:
    """`targeted_device_field` (a tenant setting, read on every use) picks the incident field."""
    inc = env.incidents
    env.record(inc.london)["u_affected_device"] = inc.singapore_device.name  # a plain text field
    async with console(env.env.live, ALEX) as alex:
        before = await alex.say(f"incident {inc.london}")
        await alex.say("settings set targeted_device_field=u_affected_device")
        after = await alex.say(f"incident {inc.london}")
    assert field(before, "Device") == f"{inc.london_device.name} (London)"
    assert field(after, "Device") == f"{inc.singapore_device.name} (Singapore)"
