"""Socket Mode against the fake's apps.connections.open + WebSocket (real Slack is not reachable
from tests), and start-up refusing a half-configured Slack."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.bootstrap import build_app, build_runtime
from bot.settings import SettingsError
from tests.conftest import make_settings, sqlite_url
from tests.fakes.slack_api import ALEX, APP_TOKEN, BOT_USER, SlackEnv, load, slack_env

SOCKET = {"slack_signing_secret": None, "slack_app_token": APP_TOKEN}


async def acked(env: SlackEnv, envelope_id: str) -> None:
    for _ in range(500):
        if any(a.get("envelope_id") == envelope_id for a in env.fake.socket_acks):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"envelope {envelope_id} was not acknowledged: {env.fake.socket_acks}")


async def test_socket_mode_runs_slash_commands_and_dedupes_event_retries(tmp_path: Path) -> None:
    async with slack_env(tmp_path, **SOCKET) as env:
        await asyncio.wait_for(env.fake.socket_connected.wait(), 10)
        opened = env.fake.called("apps.connections.open")
        assert opened and opened[0].result["ok"] is True
        async with env.http.post(f"{env.server.url}/slack/events", data="x") as r:
            assert r.status == 404  # no signing secret: no HTTP endpoint at all

        payload = load("slash_command")
        payload.update(user_id=ALEX, command="/deskhand", text="whoami",
                       response_url=env.fake.response_url("sock"))
        await env.fake.send_envelope({"envelope_id": "env-cmd", "type": "slash_commands",
                                      "accepts_response_payload": True, "payload": payload})
        await acked(env, "env-cmd")
        reply = (await env.fake.wait_for("response_url"))[0]
        assert reply.path == "/response/sock" and "You are Alex Admin" in reply.args["text"]

        event = load("event_app_mention")
        event["event_id"] = "Ev0SOCKET1"
        event["event"]["text"] = f"<@{BOT_USER}> help"
        for n, extra in enumerate(({}, {"retry_attempt": 1, "retry_reason": "timeout"})):
            await env.fake.send_envelope({"envelope_id": f"env-ev{n}", "type": "events_api",
                                          "accepts_response_payload": False, "payload": event, **extra})
            await acked(env, f"env-ev{n}")
        await env.idle()
        assert len(env.fake.called("chat.postEphemeral")) == 1


async def test_a_wrong_app_token_is_logged_and_the_server_stays_up(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="deskhand.slack")
    async with slack_env(tmp_path, slack_signing_secret=None, slack_app_token="xapp-wrong") as env:
        await env.fake.wait_for("apps.connections.open")
        await asyncio.sleep(0.1)
        async with env.http.get(f"{env.server.url}/healthz") as r:
            assert r.status == 200
        assert "cannot connect (invalid_auth)" in caplog.text
        assert "xapp-wrong" not in caplog.text
        assert not env.fake.socket_connected.is_set()


@pytest.mark.parametrize("settings", [
    {"slack_bot_token": "xoxb-1"},
    {"slack_signing_secret": "s"},
    {"slack_app_token": "xapp-1"},
])
def test_half_configured_slack_stops_start_up_with_the_fix(tmp_path: Path, settings: dict[str, str]) -> None:
    runtime = build_runtime(make_settings(sqlite_url(tmp_path), **settings))
    with pytest.raises(SettingsError) as err:
        build_app(runtime)
    assert "DESKHAND_SLACK_BOT_TOKEN" in str(err.value) and "DESKHAND_SLACK_SIGNING_SECRET" in str(err.value)


def test_without_slack_settings_there_is_no_slack_endpoint(tmp_path: Path) -> None:
    app = build_app(build_runtime(make_settings(sqlite_url(tmp_path))))
    assert "/slack/events" not in {r.resource.canonical for r in app.router.routes() if r.resource}
