"""Signatures, replays, the 3-second ack and unknown users, all over HTTP to the running app."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.context import Context, Reply
from bot.identity import NO_ACCESS
from bot.model import Command
from bot.registry import CommandSpec
from cards.model import Card, Text
from storage.directory import DirectoryRepo
from tests.fakes.slack_api import ALEX, FORM, GUEST, SECRET, STRANGER, sign, slack_env


async def test_forged_stale_and_tampered_requests_get_401_and_a_replay_runs_nothing(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        before = len(await env.audit())
        body = env.command_body(ALEX, "/deskhand", "whoami")
        assert (await env.send(body, secret="not-the-signing-secret"))[0] == 401  # forged
        assert (await env.send(body, timestamp=int(time.time()) - 301))[0] == 401  # stale
        assert (await env.send(body, timestamp=int(time.time()) + 301))[0] == 401  # from the future
        headers = sign(env.secret, body)
        tampered = body.replace("whoami", "role+list")
        async with env.http.post(f"{env.server.url}/slack/events", data=tampered,
                                 headers={"Content-Type": FORM, **headers}) as r:
            assert r.status == 401  # a valid signature of another body
        async with env.http.post(f"{env.server.url}/slack/events", data=body,
                                 headers={"Content-Type": FORM}) as r:
            assert r.status == 401  # no signature at all
        await asyncio.sleep(0.3)
        await env.idle()
        assert env.fake.calls == [] and len(await env.audit()) == before

        # The genuine request runs once; the same bytes and signature again are a replay: acked
        # (the ack never waits for the database) and not run.
        for _ in range(2):
            async with env.http.post(f"{env.server.url}/slack/events", data=body,
                                     headers={"Content-Type": FORM, **headers}) as r:
                assert r.status == 200
        await env.idle()
        assert len(env.fake.called("response_url")) == 1
        assert [e.action for e in await env.audit()][: 1] == ["whoami"]
        assert len(await env.audit()) == before + 1


async def test_ack_is_immediate_even_when_the_handler_is_slow(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        async def slow(ctx: Context, cmd: Command) -> Reply:
            await asyncio.sleep(3.2)
            return Reply.private(Card("Done", [Text("slow work finished")]))

        env.server.runtime.registry.add(CommandSpec("slow", "Takes a while", slow))
        env.fake.delays["users.info"] = 0.5  # a slow Slack API on top
        status, body, seconds = await env.command(ALEX, "/slow", "")
        assert (status, body) == (200, "") and seconds < 0.5
        assert not env.fake.called("response_url")
        reply = (await env.fake.wait_for("response_url", seconds=10))[0]
        assert "slow work finished" in reply.args["text"]


async def test_unknown_user_gets_the_access_text_privately(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        for user, url in ((STRANGER, "s"), (GUEST, "g")):
            status, _, _ = await env.command(user, "/devices", "", response=url)
            assert status == 200
        await env.idle()
        replies = {c.path: c.args for c in env.fake.called("response_url")}
        for url in ("/response/s", "/response/g"):
            assert replies[url]["response_type"] == "ephemeral"
            assert NO_ACCESS.split(":")[0] in replies[url]["text"]
        events = await env.audit()
        assert {e.outcome for e in events if e.action == "devices"} == {"unknown_user"}
        assert not any(e.kind == "command" for e in events)
        async with env.server.runtime.db.uow() as uow:
            assert await uow.repo(DirectoryRepo).identity("slack", "T0001", STRANGER) is None


async def test_link_button_clicks_are_acked_and_nothing_runs(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        before = len(await env.audit())
        status, _, _ = await env.send(env.action_body(ALEX, "deskhand.link:audit.csv", "", ts="1.1"))
        assert status == 200
        await env.idle()
        assert env.fake.calls == [] or [c.method for c in env.fake.calls] == ["auth.test"]
        assert len(await env.audit()) == before


NEW_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


async def test_the_previous_signing_secret_is_accepted_only_during_the_rotation_window(
        tmp_path: Path) -> None:
    """A new signing secret at Slack: requests signed with either secret run while
    DESKHAND_SLACK_SIGNING_SECRET_PREVIOUS holds the old one; once it is unset, the old is 401."""
    (tmp_path / "window").mkdir()
    (tmp_path / "after").mkdir()
    async with slack_env(tmp_path / "window", slack_signing_secret=NEW_SECRET,
                         slack_signing_secret_previous=SECRET) as env:
        for secret, url in ((SECRET, "old"), (NEW_SECRET, "new")):
            body = env.command_body(ALEX, "/deskhand", "whoami", response=url)
            assert (await env.send(body, secret=secret))[0] == 200
        assert (await env.send(env.command_body(ALEX, "/deskhand", "whoami"),
                               secret="not-the-signing-secret"))[0] == 401
        await env.idle()
        assert sorted(c.path for c in env.fake.called("response_url")) == [
            "/response/new", "/response/old"]
    async with slack_env(tmp_path / "after", slack_signing_secret=NEW_SECRET) as env:
        body = env.command_body(ALEX, "/deskhand", "whoami")
        assert (await env.send(body, secret=SECRET))[0] == 401
        assert (await env.send(body, secret=NEW_SECRET))[0] == 200
        await env.idle()
        assert len(env.fake.called("response_url")) == 1
