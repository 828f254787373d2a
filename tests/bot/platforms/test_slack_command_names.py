"""Signed slash commands under the configured names: a prefix (`/dh-role`), `/deskhand` alone
(single mode); a command outside them is refused with the one meant, and nothing runs. Socket
Mode warns at start when people's browsers cannot open deskhand's links."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.bootstrap import build_app, build_runtime
from tests.conftest import make_settings, sqlite_url
from tests.fakes.slack_api import ALEX, APP_TOKEN, SlackEnv, slack_env


def shown(reply: dict[str, object]) -> str:
    return json.dumps(reply["blocks"], ensure_ascii=False)


async def answer(env: SlackEnv, command: str, text: str, name: str) -> dict[str, object]:
    status, body, _ = await env.command(ALEX, command, text, response=name)
    assert (status, body) == (200, "")  # acked at once, whatever the name
    await env.idle()
    return next(c.args for c in env.fake.called("response_url") if c.path == f"/response/{name}")


async def test_prefixed_commands_route_to_their_group_and_the_old_names_are_refused(tmp_path: Path) -> None:
    async with slack_env(tmp_path, slack_command_prefix="dh-") as env:
        roles = await answer(env, "/dh-role", "list", "role")
        assert "Roles and assignments" in str(roles["text"])
        devices = await answer(env, "/dh-devices", "group=London", "dev")
        assert "Devices in London" in str(devices["text"])
        umbrella = await answer(env, "/deskhand", "whoami", "who")
        assert "You are Alex Admin" in str(umbrella["text"])

        refused = await answer(env, "/role", "list", "old")
        said = shown(refused)
        assert "Unknown command" in said and "`/role` is not one of deskhand's commands" in said
        assert "`/dh-role …` or `/deskhand role …`" in said and "deskhand manifest slack" in said
        assert refused["response_type"] == "ephemeral"
        unknown = await answer(env, "/dh-nothing", "x", "none")
        assert "`/deskhand &lt;command&gt;`" in shown(unknown)  # Slack shows <command>
        commands = sorted(e.action for e in await env.audit() if e.kind == "command")
        assert commands == ["devices", "role list", "whoami"]  # the refused ones ran nothing


async def test_single_mode_takes_only_the_umbrella(tmp_path: Path) -> None:
    async with slack_env(tmp_path, slack_commands="single") as env:
        said = await answer(env, "/deskhand", "role list", "role")
        assert "Roles and assignments" in str(said["text"])
        refused = shown(await answer(env, "/whoami", "", "who"))
        assert "`/whoami` is not one of deskhand's commands" in refused
        assert "type `/deskhand whoami …`" in refused
        assert [e.action for e in await env.audit() if e.kind == "command"] == ["role list"]


@pytest.mark.parametrize(("public_url", "warned"), [
    ("http://127.0.0.1:3978", True), ("https://localhost", True), ("http://deskhand.example.com", True),
    ("https://deskhand.example.com", False)])
def test_socket_mode_warns_when_links_point_nowhere_browsers_reach(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, public_url: str, warned: bool) -> None:
    caplog.set_level(logging.WARNING, logger="deskhand.slack")
    runtime = build_runtime(make_settings(sqlite_url(tmp_path), slack_bot_token="xoxb-1",
                                          slack_app_token=APP_TOKEN, public_url=public_url))
    build_app(runtime)  # the adapter is made; nothing connects before start
    lines = [r.getMessage() for r in caplog.records if "Socket Mode is on" in r.getMessage()]
    assert len(lines) == int(warned)
    if warned:
        assert public_url in lines[0] and "download links" in lines[0] and "TeamViewer" in lines[0]
        assert APP_TOKEN not in lines[0]
