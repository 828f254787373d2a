"""Slack over real HTTP: signed slash commands, block_actions and view_submission against the
running app, with the fake Slack Web API recording what deskhand sends back."""

from __future__ import annotations

import json
from pathlib import Path

from bot.context import Context, Reply
from bot.model import Command, Interaction
from bot.registry import ActionSpec, Arg, CommandSpec, an_id
from cards.model import Button, Card, Text, TextInput
from tests.fakes.slack_api import ALEX, CHANNEL, NINA, slack_env


def texts(blocks: list[dict]) -> str:
    """All visible text of a Block Kit message, for assertions."""
    return json.dumps(blocks)


async def test_umbrella_and_group_commands_reply_through_response_url(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        status, body, _ = await env.command(ALEX, "/deskhand", "help")
        assert (status, body) == (200, "")
        reply = (await env.fake.wait_for("response_url"))[0]
        assert reply.path == "/response/cmd" and reply.args["response_type"] == "ephemeral"
        # The fallback text is cut short at Slack's limit; the blocks hold every command.
        assert "role grant" in json.dumps(reply.args["blocks"])
        assert reply.args["blocks"][0]["type"] == "header"
        assert [c.args["user"] for c in env.fake.called("users.info")] == [ALEX]

        await env.command(ALEX, "/role", "list", response="role")
        await env.command(ALEX, "/devices", "group=London", response="dev")
        await env.idle()
        by_url = {c.path: c.args for c in env.fake.called("response_url")}
        assert "Roles and assignments" in by_url["/response/role"]["text"]
        assert "Devices in London" in by_url["/response/dev"]["text"]
        assert len(env.fake.called("users.info")) == 1  # the stored link is the cache
        actions = [(e.kind, e.action, e.outcome) for e in await env.audit()]
        assert ("command", "devices", "ok") in actions and ("command", "role list", "ok") in actions


async def test_a_newly_registered_group_works_as_its_own_slash_command(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        async def start(ctx: Context, cmd: Command) -> Reply:
            return Reply.private(Card("Remote session", [Text(f"starting on {cmd.raw}")]))

        env.server.runtime.registry.add(CommandSpec("remote start", "Start a session", start,
                                                    args=(Arg("device", "a device"),)))
        await env.command(ALEX, "/remote", "start PC-0001")
        reply = (await env.fake.wait_for("response_url"))[0]
        assert "starting on remote start PC-0001" in reply.args["text"]


async def test_public_card_button_updates_the_message_with_chat_update(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await env.command(ALEX, "/role", "grant Actioner to sam.standard@example.com")
        posted = (await env.fake.wait_for("chat.postMessage"))[0]
        assert posted.args["channel"] == CHANNEL and "Actioner granted" in posted.args["text"]
        button = next(e for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"])
        assert button["style"] == "danger" and button["confirm"]["confirm"]["text"] == "Revoke"
        ts = posted.result["ts"]

        status, _, _ = await env.send(env.action_body(ALEX, button["action_id"], button["value"], ts=ts))
        assert status == 200
        update = (await env.fake.wait_for("chat.update"))[0]
        assert (update.args["channel"], update.args["ts"]) == (CHANNEL, ts)
        assert "revoked" in update.args["text"].lower()
        assert env.fake.messages[(CHANNEL, ts)]["text"] == update.args["text"]


async def test_ephemeral_table_pages_in_place_through_the_click_response_url(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await env.command(ALEX, "/devices", "PC-")
        first = (await env.fake.wait_for("response_url"))[0].args
        more = next(e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"])
        last = more["value"].split("\x1f")[0]
        assert more["text"]["text"] == "More" and "PC-0001" in first["text"] and last in first["text"]

        await env.send(env.action_body(ALEX, more["action_id"], more["value"], ts="1.2",
                                       ephemeral=True, response="page2"))
        page2 = (await env.fake.wait_for("response_url", 2))[1]
        assert page2.path == "/response/page2" and page2.args["replace_original"] is True
        assert f"after {last}" in page2.args["text"] and "PC-0001" not in page2.args["text"]
        assert not env.fake.called("chat.update")  # an ephemeral card has no ts chat.update accepts


async def test_form_button_opens_a_modal_and_the_submission_reaches_the_handler(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        seen: list[dict[str, str]] = []

        async def ask(ctx: Context, cmd: Command) -> Reply:
            return Reply.public(Card("Close ticket INC042?", [
                Text("Say why."), TextInput("reason", "Reason", required=True)],
                buttons=[Button("Close", "ticket.close:42", "42", style="primary")]))

        async def close(ctx: Context, interaction: Interaction) -> Reply:
            seen.append({"value": interaction.value, **interaction.inputs})
            return Reply.update(Card("INC042 closed", [Text(f"Reason: {interaction.inputs['reason']}")]))

        env.server.runtime.registry.add(CommandSpec("ticket close", "Close a ticket", ask))
        env.server.runtime.registry.add_action(ActionSpec("ticket.close", close, params=(an_id,)))
        await env.command(ALEX, "/ticket", "close")
        posted = (await env.fake.wait_for("chat.postMessage"))[0]
        ts = posted.result["ts"]
        actions = next(b for b in posted.args["blocks"] if b["type"] == "actions")
        button = actions["elements"][0]
        assert actions["block_id"].startswith("deskhand.modal") and "Reason" in texts(posted.args["blocks"])

        await env.send(env.action_body(ALEX, button["action_id"], button["value"], ts=ts,
                                       block_id=actions["block_id"], trigger="trig-77"))
        opened = (await env.fake.wait_for("views.open"))[0].args
        view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
        assert opened["trigger_id"] == "trig-77" and view["callback_id"] == "deskhand.modal"
        field = view["blocks"][0]
        assert field["element"]["action_id"] == "reason" and field["optional"] is False
        assert not seen  # nothing runs until the form is submitted

        values = {"reason": {"reason": {"type": "plain_text_input", "value": "printer on fire"}}}
        status, _, _ = await env.send(env.view_body(ALEX, view["private_metadata"], values))
        assert status == 200
        update = (await env.fake.wait_for("chat.update"))[0].args
        assert seen == [{"value": "42", "reason": "printer on fire"}]
        assert (update["channel"], update["ts"]) == (CHANNEL, ts) and "printer on fire" in update["text"]


async def test_denied_command_is_private_and_audited(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await env.command(NINA, "/devices", "")
        reply = (await env.fake.wait_for("response_url"))[0].args
        assert reply["response_type"] == "ephemeral" and "Not allowed" in reply["text"]
        await env.idle()
        assert any(e.kind == "denial" and e.action == "devices" for e in await env.audit())
