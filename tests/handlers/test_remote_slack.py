"""`/remote` through Slack's real HTTP path: signed slash command and button clicks in, the fake
Slack Web API recording what deskhand posts, TeamViewer played by the simulator on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from integrations.simulator_kit import serve
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.audit import AuditEvent
from storage.devices import DeviceRepo
from storage.remote import RemoteSession
from tests.fakes.slack_api import ALEX, SlackEnv, slack_env
from tests.handlers.test_remote import FAST, TOKEN, device_in

RILEY = "U0RILEY"


@asynccontextmanager
async def remote_slack(tmp_path: Path) -> AsyncIterator[tuple[SlackEnv, TeamViewerSimulator]]:
    sim = TeamViewerSimulator(script_tokens=(TOKEN,))
    runner, url = await serve(sim)
    try:
        async with slack_env(tmp_path, teamviewer_url=f"{url}/api/v1/",
                             teamviewer_api_token=TOKEN) as env:
            env.fake.add_user(RILEY, "riley.remote@example.com")
            rt = env.server.runtime
            async with rt.db.uow() as uow:
                rows = await uow.repo(DeviceRepo).page(rt.tenant_id, query=None, group_ids=None, after=None,
                                                       limit=1000)
            sim.seed_devices([(d.name, bool(d.attributes.get("teamviewer_full_client")))
                              for d, _ in rows])
            rt.tenant_clients.tune("teamviewer", policy=FAST)
            yield env, sim
    finally:
        await runner.cleanup()


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["text"]["text"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def rows(env: SlackEnv) -> list[RemoteSession]:
    async with env.server.runtime.db.uow() as uow:
        return list((await uow.session.execute(select(RemoteSession))).scalars().all())


async def test_remote_over_slack_is_ephemeral_and_the_close_button_works(tmp_path: Path) -> None:
    async with remote_slack(tmp_path) as (env, sim):
        device = await device_in(env.server, "London")
        status, body, took = await env.command(ALEX, "/remote", f"{device} for INC0012345")
        assert (status, body) == (200, "") and took < 3  # acked before TeamViewer is called
        reply = (await env.fake.wait_for("response_url"))[0].args
        assert reply["response_type"] == "ephemeral"  # links only for the requester
        [code] = list(sim.sessions)
        assert code in reply["text"] and sim.sessions[code]["end_customer_link"] in json.dumps(reply)
        found = buttons(reply["blocks"])
        assert found["Open in browser"]["url"] == sim.sessions[code]["webclient_supporter_link"]
        assert not env.fake.called("chat.postMessage")  # nothing went to the channel

        close = found["Close session"]
        await env.send(env.action_body(ALEX, close["action_id"], close["value"], ts="1.1",
                                       ephemeral=True, response="closed"))
        closed = (await env.fake.wait_for("response_url", 2))[1]
        assert closed.path == "/response/closed" and closed.args["replace_original"] is True
        assert "closed by alex.admin@example.com" in closed.args["text"]
        assert sim.sessions[code]["state"] == "Closed"
        assert [r.state for r in await rows(env)] == ["closed"]
        everything = json.dumps([c.args for c in env.fake.calls])
        assert TOKEN not in everything


async def test_out_of_scope_denied_and_vendor_failure_leaves_no_open_row(tmp_path: Path) -> None:
    async with remote_slack(tmp_path) as (env, sim):
        outside = await device_in(env.server, "New York")
        await env.command(RILEY, "/remote", outside, response="denied")
        denied = (await env.fake.wait_for("response_url"))[0].args
        assert "Not allowed" in denied["text"] and "out of scope" in denied["text"]

        sim.switches.fail_next, sim.switches.fail_status = 100, 500
        sim.switches.fail_path = "POST /api/v1/sessions"
        inside = await device_in(env.server, "London")
        await env.command(RILEY, "/remote", inside, response="failed")
        failed = (await env.fake.wait_for("response_url", 2))[1].args
        assert "TeamViewer did not start a session" in failed["text"] and "HTTP 500" in failed["text"]
        [row] = await rows(env)
        assert row.state == "failed" and row.device_name == inside
        assert f"ref {row.correlation_id}" in failed["text"]
        await env.idle()
        async with env.server.runtime.db.uow() as uow:
            denials = (await uow.session.execute(select(AuditEvent).where(
                AuditEvent.kind == "denial", AuditEvent.action == "remote.session"))).scalars().all()
        assert [(d.target, d.actor_email) for d in denials] == [(outside, "riley.remote@example.com")]


@pytest.mark.parametrize("text", ["list", "close s12-345-678"])
async def test_remote_subcommands_over_slack(tmp_path: Path, text: str) -> None:
    async with remote_slack(tmp_path) as (env, _):
        await env.command(ALEX, "/remote", text)
        reply = (await env.fake.wait_for("response_url"))[0].args
        expected = "no open remote sessions" if text == "list" else "Unknown session"
        assert expected in reply["text"]
