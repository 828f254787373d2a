"""`channel id`: the Slack channel id or the Teams channel's conversation id an admin pastes into
the approval and admin channel settings; refused outside a channel, on the console, and to people
without settings.read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import tenant_settings
from bot.tenant_settings import ApprovalSettings
from tests.bot.platforms.test_teams import CHANNEL as TEAMS_CHANNEL
from tests.bot.platforms.test_teams import PERSONAL, THREAD, say, texts
from tests.conftest import LiveServer
from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand
from tests.fakes.slack_api import ALEX, CHANNEL, SAM, SlackEnv, slack_env
from tests.handlers.test_remote import console


async def slack_says(env: SlackEnv, user: str, text: str, name: str, channel: str = CHANNEL) -> str:
    status, _, _ = await env.command(user, "/channel", text, response=name, channel=channel)
    assert status == 200
    await env.idle()
    reply = next(c.args for c in env.fake.called("response_url") if c.path == f"/response/{name}")
    return json.dumps(reply["blocks"], ensure_ascii=False)


async def test_slack_gives_the_channel_id_the_approval_setting_takes(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        said = await slack_says(env, ALEX, "id", "here")
        assert "This channel's id" in said and "Slack channel id" in said and CHANNEL in said
        assert f"`settings set approval_channel_slack={CHANNEL}`" in said
        # What it gives is what the setting accepts.
        assert tenant_settings.parse_value(ApprovalSettings, "approval_channel_slack", CHANNEL) == CHANNEL

        dm = await slack_says(env, ALEX, "id", "dm", channel="D024BE91L")
        assert "Not a channel" in dm and "direct message" in dm and "D024BE91L" not in dm
        denied = await slack_says(env, SAM, "id", "sam")  # Endpoint Standard holds no settings.read
        assert CHANNEL not in denied and "settings.read" in denied
        audited = {(e.kind, e.action, e.outcome) for e in await env.audit()}
        assert {("command", "channel id", "ok"), ("command", "channel id", "refused"),
                ("denial", "channel id", "denied")} <= audited


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(TEAMS_ALEX)
    yield fake
    fake.stop()
    assert not fake.card_problems


@pytest.fixture
async def live(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Any]:
    async with teams_deskhand(tmp_path, fake) as live:
        yield live


async def test_teams_gives_the_channels_conversation_id_not_the_threads(
        fake: FakeBotFramework, live: Any) -> None:
    assert THREAD != TEAMS_CHANNEL  # the mention arrives in a reply thread: ";messageid=..."
    said = texts((await say(fake, live, "channel id", fixture="message_channel_mention")).cards[0])
    assert "Teams conversation id" in said and TEAMS_CHANNEL in said and THREAD not in said
    assert f"settings set approval_channel_teams={TEAMS_CHANNEL}" in said

    personal = await say(fake, live, "channel id")
    assert personal.conversation == PERSONAL
    said = texts(personal.cards[0])
    assert "Not a channel" in said and "1:1 chat, not a team channel" in said and PERSONAL not in said


async def test_the_console_has_no_channel_id(server: LiveServer) -> None:
    async with console(server, "alex.admin@example.com") as alex:
        refused = await alex.say("channel id")
    assert refused["card"]["title"] == "No channels here"
    assert "Type `channel id` in the Slack or Teams channel" in refused["card"]["fallback"]
