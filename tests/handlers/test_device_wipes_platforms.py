"""The typed confirmation of a wipe through Slack (slash command, form button, signed
view_submission of the modal, against the fake Slack Web API) and Teams (Action.Execute with the
input, Bot Framework auth on, against the fake connector)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from tests.bot.platforms.test_teams import PERSONAL, actions, texts
from tests.conftest import free_port, make_settings, sqlite_url, start_server
from tests.fakes.bot_connector import ALEX, FakeBotFramework, teams_deskhand
from tests.fakes.slack_api import ALEX as SLACK_ALEX
from tests.fakes.slack_api import BOT_TOKEN, SECRET, FakeSlack, SlackEnv
from tests.handlers.test_approvals_teams import wait_call
from tests.handlers.wipes_env import attach, device_in, request_of, simulator, wipes, wipes_sent, ws1_settings

ALEX_EMAIL = "alex.admin@example.com"


@asynccontextmanager
async def slack_live(tmp_path: Path) -> AsyncIterator[tuple[SlackEnv, WorkspaceOneSimulator]]:
    """deskhand with Slack against the fake Web API, Workspace ONE against the simulator."""
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(SLACK_ALEX, ALEX_EMAIL)
    try:
        async with simulator() as (sim, sim_url):
            port = free_port()
            runner, live = await start_server(make_settings(
                sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
                slack_signing_secret=SECRET, slack_bot_token=BOT_TOKEN,
                slack_api_url=fake.url + "/api/", **ws1_settings(sim_url)))
            try:
                await attach(live, sim)
                async with aiohttp.ClientSession() as http:
                    yield SlackEnv(fake, live, http), sim
            finally:
                await runner.cleanup()
    finally:
        await fake.stop()


async def submit(slack: SlackEnv, form: dict[str, Any], typed: str, trigger: str) -> None:
    """Click the form button (Slack opens the modal), then send the signed view_submission."""
    [button] = form["elements"]
    await slack.send(slack.action_body(SLACK_ALEX, button["action_id"], button["value"], ts="",
                                       ephemeral=True, block_id=form["block_id"], trigger=trigger))
    opened = next(c for c in await slack.fake.wait_for("views.open", int(trigger[-1]))
                  if c.args["trigger_id"] == trigger).args
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert [b["label"]["text"] for b in view["blocks"]] == ["Type the device name to confirm"]
    values = {"device_name": {"device_name": {"type": "plain_text_input", "value": typed}}}
    status, _, _ = await slack.send(slack.view_body(SLACK_ALEX, view["private_metadata"], values))
    assert status == 200
    await slack.idle()


async def test_slack_command_form_modal_and_signed_submission_confirm_the_wipe(tmp_path: Path) -> None:
    async with slack_live(tmp_path) as (slack, sim):
        live, fake = slack.server, slack.fake
        device = (await device_in(live, "London")).name
        status, _, took = await slack.command(SLACK_ALEX, "/device", f"wipe {device}")
        assert status == 200 and took < 3
        [answer] = await fake.wait_for("response_url")
        assert f"Wipe {device}?" in answer.args["text"]
        form = next(b for b in answer.args["blocks"] if b["type"] == "actions")
        assert [e["text"]["text"] for e in form["elements"]] == ["Request wipe"]

        await submit(slack, form, "PC-WRONG", "trig-1")
        said = [c.args.get("text", "") for c in fake.calls
                if c.method in ("response_url", "chat.postEphemeral")]
        assert any("does not match" in t for t in said)
        [row] = await wipes(live)
        assert row.state == "confirming" and await request_of(live, row) is None

        await submit(slack, form, device.lower(), "trig-2")
        [row] = await wipes(live)
        assert row.state == "awaiting_approval"
        request = await request_of(live, row)
        assert request is not None and request.state == "pending"
        replaced = [c.args for c in fake.calls if c.method == "response_url"
                    and c.args.get("replace_original") and "waiting for approval" in c.args["text"]]
        assert replaced, "the confirmation card did not turn into the request card"
        asked = [c.args for c in fake.called("chat.postMessage")
                 if f"Approval needed: Wipe {device}" in c.args.get("text", "")]
        assert asked and any(b["type"] == "actions" for b in asked[0]["blocks"])
        assert wipes_sent(sim, device) == []


@pytest.fixture
def bot() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(ALEX)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


def execute(fake: FakeBotFramework, message_id: str, action: dict[str, Any], **inputs: str) -> dict[str, Any]:
    invoke = fake.activity("invoke_action_execute", ALEX, replyToId=message_id)
    invoke["value"]["action"].update(verb=action["verb"], data={**action["data"], **inputs})
    return invoke


async def test_teams_action_execute_with_the_typed_name_confirms_the_wipe(
        tmp_path: Path, bot: FakeBotFramework) -> None:
    async with simulator() as (sim, sim_url), \
            teams_deskhand(tmp_path, bot, **ws1_settings(sim_url)) as live:
        await attach(live, sim)
        device = (await device_in(live, "London")).name
        ask = bot.activity("message_personal", ALEX, text=f"device wipe {device}")
        assert (await bot.send(live.url, ask))[0] == 201
        card_call = await wait_call(bot, lambda c: c.conversation == PERSONAL and any(
            f"Wipe {device}?" in texts(card) for card in c.cards))
        card = card_call.cards[0]
        assert any(el.get("type") == "Input.Text" and el.get("id") == "device_name" for el in card["body"])
        [action] = actions(card)
        assert action["type"] == "Action.Execute" and action["title"] == "Request wipe"

        status, body = await bot.send(live.url, execute(bot, card_call.response_id, action,
                                                         device_name="not-it"))
        assert status == 200 and "does not match" in body["value"]
        [row] = await wipes(live)
        assert row.state == "confirming"

        status, body = await bot.send(live.url, execute(bot, card_call.response_id, action,
                                                         device_name=device.upper()))
        assert status == 200 and body["statusCode"] == 200
        assert "waiting for approval" in texts(body["value"]) and not actions(body["value"])
        [row] = await wipes(live)
        assert row.state == "awaiting_approval" and wipes_sent(sim, device) == []
        await wait_call(bot, lambda c: c.kind == "send" and any(
            f"Approval needed: Wipe {device}" in texts(card) for card in c.cards))
