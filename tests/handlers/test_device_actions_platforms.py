"""Device actions in Teams and Slack: the device card and its form in Teams, and recovery keys.
Teams has no ephemeral messages: a key goes to the requester's 1:1 chat with deskhand, never
into the channel where it was asked, and without a 1:1 chat it is not fetched at all; in Slack
it is ephemeral. Bot Framework activities and signed Slack requests against the fakes,
Workspace ONE simulated."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from tests.bot.platforms._drivers import CHANNEL_MESSAGE, PERSONAL, THREAD, TeamsDriver
from tests.fakes import bot_connector as teams
from tests.fakes import slack_api as slack
from tests.fakes.slack_api import SlackEnv, slack_env
from tests.handlers.test_remote import audit_rows
from tests.handlers.ws1_env import aim, device_in, inventory, simulator, ws1_settings

Env = tuple[SlackEnv, teams.FakeBotFramework, WorkspaceOneSimulator]


@contextlib.asynccontextmanager
async def teams_ws1(tmp_path: Path) -> AsyncIterator[Env]:
    fake = teams.FakeBotFramework().start()
    try:
        async with simulator() as (sim, sim_url), \
                slack_env(tmp_path, **fake.settings(), **ws1_settings(sim_url)) as env:
            await aim(env.server, sim)
            yield env, fake, sim
    finally:
        fake.stop()
    assert not fake.card_problems, "every Adaptive Card deskhand sent must validate"


async def say_in_channel(env: SlackEnv, fake: teams.FakeBotFramework, text: str) -> None:
    activity = fake.activity("message_channel_mention", teams.ALEX, text=f"<at>deskhand</at> {text}")
    assert (await fake.send(env.server.url, activity))[0] == 201


def sent_to(fake: teams.FakeBotFramework, conversation: str) -> str:
    return json.dumps([c.body for c in fake.posted() if c.conversation == conversation])


async def test_asked_in_a_channel_the_key_goes_to_the_1_1_chat_only(tmp_path: Path) -> None:
    async with teams_ws1(tmp_path) as (env, fake, sim):
        await TeamsDriver(fake, env.server.url).install()
        pc = await device_in(env.server, "London")
        key = next(d for d in sim.devices if d.name == pc).bitlocker_key
        await say_in_channel(env, fake, f"device recovery-key {pc}")
        [posted] = await fake.wait_for("send", "reply", count=1)
        assert posted.conversation == PERSONAL[teams.ALEX.mri] and key in json.dumps(posted.body)
        # A click on a recovery-key button of a card in the channel: the invoke's answer (seen
        # by the clicker) only says where the key went; the key goes to the 1:1 chat again.
        device_id = (await inventory(env.server, pc)).id
        invoke = fake.activity("invoke_action_execute", teams.ALEX, replyToId="1:card",
                               conversation=CHANNEL_MESSAGE["conversation"],
                               channelData=CHANNEL_MESSAGE["channelData"])
        invoke["value"]["action"].update(verb=f"device.do:recovery-key:{device_id}", data={})
        status, body = await fake.send(env.server.url, invoke)
        assert status == 200 and key not in json.dumps(body)
        assert "in our private chat" in json.dumps(body)
        await fake.wait_for("send", "reply", count=2)
        keyed = [c for c in fake.posted() if key in json.dumps(c.body)]
        assert [c.conversation for c in keyed] == [PERSONAL[teams.ALEX.mri]] * 2
        assert key not in sent_to(fake, THREAD) and fake.called("update") == []
        assert [r.outcome for r in await audit_rows(env.server, "ws1.recovery-key")] == ["ok", "ok"]


async def test_without_a_1_1_chat_the_key_is_not_even_fetched(tmp_path: Path) -> None:
    async with teams_ws1(tmp_path) as (env, fake, sim):
        fake.add_user(teams.ALEX)  # in the team, but deskhand was never installed for him
        pc = await device_in(env.server, "London")
        key = next(d for d in sim.devices if d.name == pc).bitlocker_key
        await say_in_channel(env, fake, f"device recovery-key {pc}")
        [posted] = await fake.wait_for("send", "reply", count=1)
        assert "Ask me in a private chat" in json.dumps(posted.body)
        assert key not in json.dumps([c.body for c in fake.calls])
        assert await audit_rows(env.server, "ws1.recovery-key") == []
        [command] = await audit_rows(env.server, "device recovery-key")
        assert command.outcome == "refused"


async def test_a_passcode_typed_in_a_channel_is_not_used(tmp_path: Path) -> None:
    async with teams_ws1(tmp_path) as (env, fake, sim):
        fake.add_user(teams.ALEX)
        phone = await device_in(env.server, "London", "AND-")
        await say_in_channel(env, fake, f"device passcode {phone} passcode=246810")
        [posted] = await fake.wait_for("send", "reply", count=1)
        said = json.dumps(posted.body)
        assert "Everyone in this conversation can read what you typed" in said
        assert "246810" not in said and sim.sent_to(phone) == []
        [command] = await audit_rows(env.server, "device passcode")
        assert command.outcome == "refused" and "246810" not in json.dumps(command.params)


async def test_the_device_card_and_its_form_in_teams(tmp_path: Path) -> None:
    async with teams_ws1(tmp_path) as (env, fake, sim):
        await TeamsDriver(fake, env.server.url).install()
        phone = await device_in(env.server, "London", "AND-")
        device_id = (await inventory(env.server, phone)).id
        await say_in_channel(env, fake, f"device {phone}")
        [posted] = await fake.wait_for("send", "reply", count=1)
        assert posted.conversation == PERSONAL[teams.ALEX.mri]  # private: the 1:1 chat
        [card] = posted.cards
        verbs = json.dumps(card)
        assert f"device.do:lock:{device_id}" in verbs and f"device.form:passcode:{device_id}" in verbs
        # The passcode form: its input rides on the card; the submit carries it.
        form_card = await click(env, fake, posted.response_id, action(card, "Change passcode\u2026"))
        assert any(e.get("type") == "Input.Text" and e["id"] == "passcode" for e in form_card["body"])
        send = action(form_card, "Send")
        status, body = await invoke(env, fake, posted.response_id,
                                    {**send, "data": {**send["data"], "passcode": "482913"}})
        assert status == 200 and "Change passcode" in json.dumps(body)
        assert [s.body["Passcode"] for s in sim.sent_to(phone, "ChangePasscode")] == ["482913"]


def action(card: dict[str, Any], title: str) -> dict[str, Any]:
    return next(a for el in card["body"] if el["type"] == "ActionSet" for a in el["actions"]
                if a["title"] == title)


async def invoke(env: SlackEnv, fake: teams.FakeBotFramework, reply_to: str,
                 pressed: dict[str, Any]) -> tuple[int, Any]:
    """An Action.Execute on a card in Alex's 1:1 chat, as Teams sends it."""
    activity = fake.activity("invoke_action_execute", teams.ALEX, replyToId=reply_to,
                             conversation={"id": PERSONAL[teams.ALEX.mri],
                                           "conversationType": "personal"})
    activity["value"]["action"].update(title=pressed["title"], verb=pressed["verb"],
                                       data=pressed["data"])
    return await fake.send(env.server.url, activity)


async def click(env: SlackEnv, fake: teams.FakeBotFramework, reply_to: str,
                pressed: dict[str, Any]) -> dict[str, Any]:
    """Click a button whose answer is a new card (posted to the 1:1 chat); that card."""
    before = len(fake.posted())
    status, _ = await invoke(env, fake, reply_to, pressed)
    assert status == 200
    posted = await fake.wait_for("send", "reply", count=before + 1)
    return posted[before].cards[0]


async def test_in_slack_the_key_is_ephemeral_to_its_requester(tmp_path: Path) -> None:
    async with teams_ws1(tmp_path) as (env, _, sim):
        pc = await device_in(env.server, "London")
        key = next(d for d in sim.devices if d.name == pc).bitlocker_key
        status, _, _ = await env.command(slack.ALEX, "/device", f"recovery-key {pc}")
        assert status == 200
        [reply] = await env.fake.wait_for("response_url")
        assert reply.args["response_type"] == "ephemeral" and key in json.dumps(reply.args)
        shown = [c for c in env.fake.calls if key in json.dumps(c.args)]
        assert shown == [reply]  # no chat.postMessage, nothing in the channel
