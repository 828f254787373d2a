"""Events API over HTTP: mentions and DMs run commands once, however often Slack retries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.fakes.slack_api import ALEX, BOT_USER, CHANNEL, slack_env


async def test_mention_retry_with_retry_num_does_not_run_the_command_twice(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        body = env.event_body("event_app_mention", "Ev0RETRY01", text=f"<@{BOT_USER}> whoami")
        assert (await env.event(body))[0] == 200
        await env.idle()
        for retry in (1, 2):  # Slack re-sends the same event_id, freshly signed, with X-Slack-Retry-Num
            status, _, seconds = await env.event(body, retry=retry)
            assert status == 200 and seconds < 1
        await env.idle()
        replies = env.fake.called("chat.postEphemeral")
        assert len(replies) == 1
        assert replies[0].args["channel"] == CHANNEL and replies[0].args["user"] == ALEX
        assert replies[0].args["thread_ts"] == "1515449522.000016"  # answered in the mention's thread
        assert "You are" in replies[0].args["text"]
        assert [e.action for e in await env.audit() if e.kind == "command"] == ["whoami"]


async def test_concurrent_duplicate_deliveries_run_once(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        body = env.event_body("event_app_mention", "Ev0RACE001", text=f"<@{BOT_USER}> help")
        results = await asyncio.gather(env.event(body), env.event(body, retry=1), env.event(body, retry=2))
        assert [r[0] for r in results] == [200, 200, 200]
        await env.idle()
        assert len(env.fake.called("chat.postEphemeral")) == 1


async def test_direct_message_runs_the_command_and_answers_in_the_dm(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        body = env.event_body("event_message_im", "Ev0DM00001", text="devices group=London")
        assert (await env.event(body))[0] == 200
        posted = (await env.fake.wait_for("chat.postMessage"))[0]
        assert posted.args["channel"] == "D024BE91L" and "Devices in London" in posted.args["text"]
        assert not env.fake.called("chat.postEphemeral")  # in the bot's DM a private card is a message

        # Edits, joins and the bot's own posts carry a subtype or bot_id and are ignored.
        for n, extra in enumerate(({"subtype": "message_changed"}, {"bot_id": "B0BOT"}), start=2):
            await env.event(env.event_body("event_message_im", f"Ev0DM0000{n}", text="help", **extra))
        await env.idle()
        assert len(env.fake.called("chat.postMessage")) == 1


async def test_url_verification_challenge_is_answered(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                           "type": "url_verification"})
        status, text, _ = await env.event(body)
        assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


def test_slack_formatting_is_undone_before_the_router_sees_the_text() -> None:
    from bot.platforms.slack.commands import command_text, plain, strip_mention

    names: dict[str, str | None] = {"/deskhand": None, "/role": "role"}
    typed = "grant Actioner to <mailto:sam@example.com|sam@example.com> in <#C1|london> &amp; &lt;x&gt;"
    assert command_text("/role", typed, names) == "role grant Actioner to sam@example.com in #london & <x>"
    assert command_text("/deskhand", "  devices  ", names) == "devices"
    assert command_text("/deskhand", "", names) == ""
    assert command_text("/devices", "x", names) is None  # not one of this deployment's names
    assert plain(strip_mention("<@U0BOT> why <@U2> <https://x.example|x.example>")) == "why <@U2> x.example"
