"""`incident <number>` through Slack's and Teams' real HTTP paths: a signed slash command and a
Bot Framework activity in, the fakes recording the card deskhand answers with, ServiceNow played
by its simulator on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.platforms.slack.adapter import SlackAdapter
from integrations.servicenow.simulator import ServiceNowSimulator
from integrations.simulator_kit import serve
from tests.bot.platforms.test_teams import actions, say, texts
from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand
from tests.fakes.slack_api import ALEX, slack_env
from tests.handlers.incidents_env import FAST, SNOW_PASSWORD, SNOW_USER, Incidents, seed_snow, snow_settings


@asynccontextmanager
async def snow() -> AsyncIterator[tuple[ServiceNowSimulator, str]]:
    sim = ServiceNowSimulator(users={SNOW_USER: SNOW_PASSWORD})
    runner, url = await serve(sim)
    try:
        yield sim, url
    finally:
        await runner.cleanup()


async def ready(rt: Any, sim: ServiceNowSimulator) -> Incidents:
    rt.tenant_clients.tune("servicenow", policy=FAST)
    return await seed_snow(sim, rt)


def slack_buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {e["text"]["text"]: e["action_id"] for b in blocks if b["type"] == "actions"
            for e in b["elements"]}


async def test_incident_over_slack_is_an_ephemeral_card_with_its_buttons(tmp_path: Path) -> None:
    async with snow() as (sim, url), slack_env(tmp_path, **snow_settings(url)) as env:
        inc = await ready(env.server.runtime, sim)
        assert isinstance(env.adapter, SlackAdapter)
        status, body, took = await env.command(ALEX, "/incident", inc.london)
        assert (status, body) == (200, "") and took < 3
        reply = (await env.fake.wait_for("response_url"))[0].args
        assert reply["response_type"] == "ephemeral"
        text = json.dumps(reply["blocks"])
        assert inc.london in text and "Laptop will not connect to VPN" in text
        assert inc.london_device.name in text and "Riley Remote" in text
        device = inc.london_device.id
        assert slack_buttons(reply["blocks"]) == {
            "Remote": f"remote.start:{device}:{inc.london}",
            "Run instruction": f"incident.run:{device}:{inc.london}",
            "Device actions": f"device.card:{device}:{inc.london}"}
        assert SNOW_PASSWORD not in json.dumps([c.args for c in env.fake.calls])


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(TEAMS_ALEX)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


async def test_incident_over_teams_is_an_adaptive_card_with_its_buttons(
        tmp_path: Path, fake: FakeBotFramework) -> None:
    async with snow() as (sim, url), teams_deskhand(tmp_path, fake, **snow_settings(url)) as live:
        inc = await ready(live.runtime, sim)
        call = await say(fake, live, f"incident {inc.london}")
        [card] = call.cards
        shown = texts(card)
        assert f"{inc.london}: Laptop will not connect to VPN" in shown
        assert f"Device: {inc.london_device.name} (London)" in shown
        assert "Assigned to: Riley Remote" in shown and "State: In Progress" in shown
        assert [a["title"] for a in actions(card)] == ["Remote", "Run instruction", "Device actions"]
        unknown = await say(fake, live, "incident INC0099999")
        assert "ServiceNow has no incident INC0099999" in texts(unknown.cards[0])
