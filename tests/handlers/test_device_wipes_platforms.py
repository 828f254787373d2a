"""Wipes through Slack and Teams. The typed confirmation: Slack's slash command, form button and
signed view_submission of the modal; Teams' Action.Execute with the input. Then the approvers'
card where approvals go, an approver's decision there (Slack: Approve click and the reason
modal; Teams: Action.Execute in the channel), one wipe at the Workspace ONE simulator, and the
requester told privately. Fake Slack Web API and Bot Framework connector (auth on)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.device_wipes import DeviceWipe
from tests.bot.platforms.test_teams import CHANNEL, PERSONAL, actions, texts
from tests.conftest import LiveServer
from tests.fakes.bot_connector import ALEX, Call, FakeBotFramework, TeamsUser, teams_deskhand
from tests.fakes.slack_api import ALEX as SLACK_ALEX
from tests.fakes.slack_api import SlackEnv, slack_env
from tests.handlers.test_approvals_teams import titled, wait_call
from tests.handlers.wipes_env import request_of, wipes, wipes_sent
from tests.handlers.ws1_env import aim, device_in, set_tenant, simulator, ws1_settings

PAT_EMAIL = "pat.approver@example.com"  # an Approver in the demo directory
SLACK_PAT, APPROVERS = "U0PAT", "C0APPROVERS"
TEAMS_PAT = TeamsUser("29:1patApproverMRI", "6a7b8c9d-0000-4000-8000-0000000000e5", "Pat Approver",
                      PAT_EMAIL)


async def settled(live: LiveServer, *states: str, seconds: float = 15) -> DeviceWipe:
    """The one wipe row once it reaches one of `states` (the send runs after the decision)."""
    deadline = time.monotonic() + seconds
    while True:
        [row] = await wipes(live)
        if row.state in states or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.05)


# --- Slack --------------------------------------------------------------------------------------

@asynccontextmanager
async def slack_live(tmp_path: Path) -> AsyncIterator[tuple[SlackEnv, WorkspaceOneSimulator]]:
    """deskhand with Slack against the fake Web API (Pat added), Workspace ONE simulated."""
    async with simulator() as (sim, url), slack_env(tmp_path, **ws1_settings(url)) as slack:
        slack.fake.add_user(SLACK_PAT, PAT_EMAIL)
        await aim(slack.server, sim)
        yield slack, sim


async def wait_slack(slack: SlackEnv, match: Callable[[Any], bool], seconds: float = 15) -> Any:
    """The latest call deskhand made to the fake Slack that matches, once there is one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [c for c in slack.fake.calls if match(c)]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    seen = [(c.method, str(c.args.get("text", ""))[:80]) for c in slack.fake.calls]
    raise AssertionError(f"Slack never received the expected call; it got {seen}")


async def through_modal(slack: SlackEnv, user: str, block: dict[str, Any], button: dict[str, Any],
                        trigger: str, field: str, typed: str, **where: Any) -> dict[str, Any]:
    """Click a button that opens a modal (views.open with the click's trigger), then send the
    signed view_submission with `field` filled in; the modal that was opened."""
    await slack.send(slack.action_body(user, button["action_id"], button["value"],
                                       block_id=block["block_id"], trigger=trigger, **where))
    opened = next(c for c in await slack.fake.wait_for("views.open", int(trigger[-1]))
                  if c.args["trigger_id"] == trigger).args
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    values = {field: {field: {"type": "plain_text_input", "value": typed}}}
    status, _, _ = await slack.send(slack.view_body(user, view["private_metadata"], values))
    assert status == 200
    await slack.idle()
    return view


async def slack_ask(slack: SlackEnv, device: str) -> dict[str, Any]:
    """`/device wipe <device>` from Alex: the confirmation card's form (the Request wipe button)."""
    status, _, took = await slack.command(SLACK_ALEX, "/device", f"wipe {device}")
    assert status == 200 and took < 3
    [answer] = await slack.fake.wait_for("response_url")
    assert f"Wipe {device}?" in answer.args["text"]
    form = next(b for b in answer.args["blocks"] if b["type"] == "actions")
    assert [e["text"]["text"] for e in form["elements"]] == ["Request wipe"]
    return dict(form)


async def slack_confirm(slack: SlackEnv, form: dict[str, Any], typed: str, trigger: str) -> None:
    view = await through_modal(slack, SLACK_ALEX, form, form["elements"][0], trigger, "device_name",
                               typed, ts="", ephemeral=True)
    assert [b["label"]["text"] for b in view["blocks"]] == ["Type the device name to confirm"]


async def test_slack_command_form_modal_and_signed_submission_confirm_the_wipe(tmp_path: Path) -> None:
    async with slack_live(tmp_path) as (slack, sim):
        live, fake = slack.server, slack.fake
        device = await device_in(live, "London")
        form = await slack_ask(slack, device)

        await slack_confirm(slack, form, "PC-WRONG", "trig-1")
        said = [c.args.get("text", "") for c in fake.calls
                if c.method in ("response_url", "chat.postEphemeral")]
        assert any("does not match" in t for t in said)
        [row] = await wipes(live)
        assert row.state == "confirming" and await request_of(live, row) is None

        await slack_confirm(slack, form, device.lower(), "trig-2")
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


async def test_slack_an_approvers_click_sends_one_wipe_and_the_requester_is_told(tmp_path: Path) -> None:
    async with slack_live(tmp_path) as (slack, sim):
        live, fake = slack.server, slack.fake
        await set_tenant(live, approval_channel_slack=APPROVERS)
        device = await device_in(live, "London")
        await slack_confirm(slack, await slack_ask(slack, device), device, "trig-1")
        [posted] = [c for c in fake.called("chat.postMessage") if c.args["channel"] == APPROVERS]
        assert f"Approval needed: Wipe {device}" in posted.args["text"]
        block = next(b for b in posted.args["blocks"] if b["type"] == "actions")
        approve = next(e for e in block["elements"] if e["text"]["text"] == "Approve")
        assert wipes_sent(sim, device) == []  # nothing before the decision

        # Pat clicks Approve in the approvers' channel; Slack opens the reason modal; he submits
        # it, and submits it again (a double submission): one decision, one wipe.
        where = {"ts": posted.result["ts"], "channel": APPROVERS}
        await through_modal(slack, SLACK_PAT, block, approve, "trig-2", "reason", "laptop stolen",
                            **where)
        row = await settled(live, "sent", "failed", "unknown")
        await through_modal(slack, SLACK_PAT, block, approve, "trig-3", "reason", "again", **where)
        again = await wait_slack(slack, lambda c: "Already decided" in c.args.get("text", ""))
        assert (again.path, again.args["response_type"]) == ("/response/act", "ephemeral")
        assert (row.state, row.decided_by) == ("sent", PAT_EMAIL)
        assert wipes_sent(sim, device) == ["DeviceWipe"]
        redrawn = await wait_slack(slack, lambda c: c.method == "chat.update" and c.args["ts"] ==
                                   posted.result["ts"] and "sent to Workspace ONE" in c.args["text"])
        assert redrawn.args["channel"] == APPROVERS
        assert not [b for b in redrawn.args["blocks"] if b["type"] == "actions"]  # decided: no buttons
        told = await wait_slack(slack, lambda c: f"Wipe sent: {device}" in c.args.get("text", ""))
        # Privately, where he asked: ephemeral through his slash command's response_url.
        assert (told.method, told.path, told.args["response_type"]) == (
            "response_url", "/response/cmd", "ephemeral")
        assert [c.args["channel"] for c in fake.calls if c.method == "chat.postMessage"
                and f"Wipe sent: {device}" in c.args.get("text", "")] == []
        assert wipes_sent(sim, device) == ["DeviceWipe"]



# --- Teams --------------------------------------------------------------------------------------

@pytest.fixture
def bot() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    for user in (ALEX, TEAMS_PAT):
        fake.add_user(user)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


def execute(fake: FakeBotFramework, message_id: str, action: dict[str, Any], *,
            user: TeamsUser = ALEX, channel: str | None = None, **inputs: str) -> dict[str, Any]:
    """An Action.Execute invoke from `user` (in Alex's 1:1 chat, or the channel named)."""
    invoke = fake.activity("invoke_action_execute", user, replyToId=message_id)
    if channel:
        invoke["conversation"] = {**invoke["conversation"], "conversationType": "channel", "id": channel}
    invoke["value"]["action"].update(verb=action["verb"], data={**action["data"], **inputs})
    return invoke


async def teams_ask(bot: FakeBotFramework, live: Any, device: str) -> tuple[Call, dict[str, Any]]:
    """Alex asks in his 1:1 chat: the confirmation card (box and button) and its button."""
    ask = bot.activity("message_personal", ALEX, text=f"device wipe {device}")
    assert (await bot.send(live.url, ask))[0] == 201
    card_call = await wait_call(bot, lambda c: c.conversation == PERSONAL and any(
        f"Wipe {device}?" in texts(card) for card in c.cards))
    card = card_call.cards[0]
    assert any(el.get("type") == "Input.Text" and el.get("id") == "device_name" for el in card["body"])
    [action] = actions(card)
    assert action["type"] == "Action.Execute" and action["title"] == "Request wipe"
    return card_call, action


async def test_teams_action_execute_with_the_typed_name_confirms_the_wipe(
        tmp_path: Path, bot: FakeBotFramework) -> None:
    async with simulator() as (sim, sim_url), \
            teams_deskhand(tmp_path, bot, **ws1_settings(sim_url)) as live:
        await aim(live, sim)
        device = await device_in(live, "London")
        card_call, action = await teams_ask(bot, live, device)

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


async def test_teams_an_approvers_action_execute_sends_one_wipe_and_the_requester_is_told(
        tmp_path: Path, bot: FakeBotFramework) -> None:
    async with simulator() as (sim, sim_url), \
            teams_deskhand(tmp_path, bot, **ws1_settings(sim_url)) as live:
        await aim(live, sim)
        await set_tenant(live, approval_channel_teams=CHANNEL)
        # Installing the bot in the team stores the approvers' channel's reference.
        assert (await bot.send(live.url, bot.activity("conversation_update_bot_added")))[0] == 201
        device = await device_in(live, "London")
        card_call, action = await teams_ask(bot, live, device)
        status, _ = await bot.send(live.url, execute(bot, card_call.response_id, action,
                                                     device_name=device))
        assert status == 200

        channel = await wait_call(bot, titled(f"Approval needed: Wipe {device}", "send", CHANNEL))
        approve = next(a for a in actions(channel.cards[0]) if a["title"] == "Approve")
        assert wipes_sent(sim, device) == []  # nothing before the decision
        status, body = await bot.send(live.url, execute(
            bot, channel.response_id, approve, user=TEAMS_PAT, channel=CHANNEL, reason="laptop stolen"))
        assert status == 200 and body["statusCode"] == 200 and "approved" in json.dumps(body["value"])

        told = await wait_call(bot, titled(f"Wipe sent: {device}", "send", PERSONAL))
        assert told.authorized  # privately, in Alex's 1:1 chat where he asked
        row = await settled(live, "sent", "failed", "unknown")
        assert (row.state, row.decided_by) == ("sent", PAT_EMAIL)
        # Teams resends an invoke it got no answer to in time: decided already, nothing resent.
        status, body = await bot.send(live.url, execute(
            bot, channel.response_id, approve, user=TEAMS_PAT, channel=CHANNEL, reason="again"))
        assert status == 200 and "Already decided" in json.dumps(body)
        assert wipes_sent(sim, device) == ["DeviceWipe"]
        assert not [c for c in bot.calls if c.conversation == CHANNEL
                    and any(f"Wipe sent: {device}" in texts(card) for card in c.cards)]
