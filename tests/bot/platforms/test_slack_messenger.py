"""The Slack messenger against the fake Web API: 429 Retry-After, per-channel pacing, uploads,
and the response_url fallback where the bot is not a channel member."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.adapter import PlatformRefused
from bot.identity import resolve_actor
from bot.model import MessageRef, PlatformIdentity, ReplyTarget
from bot.platforms.slack.retries import POLICY
from cards.blockkit import render
from cards.model import Card, Text
from tests.fakes.slack_api import ALEX, CHANNEL, slack_env


def card(n: int) -> Card:
    return Card(f"Card {n}", [Text(f"body {n}")])


async def test_429_is_retried_after_retry_after_seconds(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        env.fake.fail("chat.postMessage", status=429, retry_after=1)
        await env.command(ALEX, "/role", "grant Actioner to sam.standard@example.com")
        calls = await env.fake.wait_for("chat.postMessage", 2)
        assert calls[1].at - calls[0].at >= 1.0  # waited Retry-After before trying again
        assert calls[1].args["text"] == calls[0].args["text"]
        await env.idle()
        assert len(env.fake.messages) == 1


async def test_429_retries_are_bounded(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        env.fake.fail("chat.postMessage", status=429, retry_after=0, times=10)
        target = ReplyTarget("slack", "C0LIMIT")
        try:
            await env.adapter.messenger.post(target, card(1))
        except PlatformRefused as exc:  # once the retries are spent
            assert "ratelimited" in str(exc)
        else:
            raise AssertionError("a post that is always rate limited must fail")
        assert len(env.fake.called("chat.postMessage")) == POLICY.attempts


async def test_503_is_retried_but_a_500_that_may_have_posted_is_not(tmp_path: Path) -> None:
    """Slack's Web API methods are POSTs: the shared policy repeats only what Slack refused before
    doing anything (503), never what may already have been posted (500)."""
    async with slack_env(tmp_path) as env:
        env.fake.fail("chat.postMessage", status=503, retry_after=0, times=2)
        await env.adapter.messenger.post(ReplyTarget("slack", "C0BUSY"), card(1))
        assert len(env.fake.called("chat.postMessage")) == 3 and len(env.fake.messages) == 1
        env.fake.fail("chat.postMessage", status=500)
        with pytest.raises(PlatformRefused):
            await env.adapter.messenger.post(ReplyTarget("slack", "C0BUSY"), card(2))
        assert len(env.fake.called("chat.postMessage")) == 4


async def test_posts_to_one_channel_are_paced_about_one_per_second(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        messenger = env.adapter.messenger
        busy, other = ReplyTarget("slack", "C0BUSY"), ReplyTarget("slack", "C0OTHER")
        refs = await asyncio.gather(*(messenger.post(busy, card(n)) for n in range(3)),
                                    messenger.post(other, card(9)))
        assert all(r.message_id for r in refs)
        sent = {c.args["text"].split("\n")[0]: c.at for c in env.fake.called("chat.postMessage")}
        # In call order, a slot per second (network jitter aside); unpaced posts would be ~0 s apart.
        assert sent["Card 2"] - sent["Card 0"] >= 1.8
        assert all(sent[f"Card {n + 1}"] - sent[f"Card {n}"] >= 0.7 for n in range(2))
        assert sent["Card 9"] < sent["Card 1"]  # another channel is not queued behind the busy one


async def test_not_a_member_falls_back_to_response_url_in_channel(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        env.fake.not_member.add("C0PRIVATE")
        await env.command(ALEX, "/role", "grant Actioner to sam.standard@example.com", channel="C0PRIVATE")
        reply = (await env.fake.wait_for("response_url"))[0].args
        assert reply["response_type"] == "in_channel" and "Actioner granted" in reply["text"]
        assert env.fake.called("chat.postMessage")[0].result["error"] == "not_in_channel"


async def test_update_of_an_ephemeral_card_without_response_url_says_why(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        ref = MessageRef("slack", CHANNEL, "1.1", extra={"ephemeral": True})
        try:
            await env.adapter.messenger.update(ref, card(1))
        except PlatformRefused as exc:
            assert "response_url" in str(exc)
        else:
            raise AssertionError("an ephemeral card cannot be updated without a response_url")
        assert env.fake.calls == []


async def test_file_upload_uses_the_external_upload_flow(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        data = b"at,actor,action\n2026-11-01,alex,devices\n" * 100
        await env.adapter.messenger.upload(
            ReplyTarget("slack", CHANNEL, "1700000000.000001"), "audit.csv", data,
            title="Audit export", comment="Here is the export")
        get_url = env.fake.called("files.getUploadURLExternal")[0].args
        assert get_url["filename"] == "audit.csv" and int(get_url["length"]) == len(data)
        [(file_id, body)] = env.fake.uploads.items()
        assert body == data
        done = env.fake.called("files.completeUploadExternal")[0].args
        assert done["channel_id"] == CHANNEL and done["thread_ts"] == "1700000000.000001"
        assert done["initial_comment"] == "Here is the export" and file_id in done["files"]


async def test_private_post_without_response_url_uses_post_ephemeral(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await env.command(ALEX, "/deskhand", "whoami")  # links the account
        await env.idle()
        actor = await resolve_actor(env.server.runtime.db, env.server.runtime.tenant_id,
                                    PlatformIdentity("slack", "T0001", ALEX))
        assert actor is not None
        ref = await env.adapter.messenger.post(ReplyTarget("slack", CHANNEL), card(5), private_to=actor)
        call = env.fake.called("chat.postEphemeral")[0]
        assert call.args["user"] == ALEX and ref.extra["ephemeral"] and ref.message_id
        assert call.args["blocks"] == render(card(5)).blocks


async def test_an_old_or_refused_response_url_falls_back_to_post_ephemeral(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        messenger, message = env.adapter.messenger, render(card(1))
        old = ReplyTarget("slack", CHANNEL, extra={"response_url": env.fake.response_url("old"),
                                                    "received": time.time() - 3600})
        await messenger.post_private(old, ALEX, message)
        assert not env.fake.called("response_url") and len(env.fake.called("chat.postEphemeral")) == 1

        env.fake.script["response_url"] = [(404, {"error": "expired_url"}, {})]
        fresh = ReplyTarget("slack", CHANNEL, extra={"response_url": env.fake.response_url("gone"),
                                                      "received": time.time()})
        ref = await messenger.post_private(fresh, ALEX, message)
        assert len(env.fake.called("response_url")) == 1 and len(env.fake.called("chat.postEphemeral")) == 2
        assert ref.message_id and ref.extra["ephemeral"]


async def test_a_response_url_429_is_retried_after_retry_after_and_a_500_is_not(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        messenger, message = env.adapter.messenger, render(card(1))

        def fresh(name: str) -> ReplyTarget:
            return ReplyTarget("slack", CHANNEL, extra={"response_url": env.fake.response_url(name),
                                                        "received": time.time()})

        env.fake.script["response_url"] = [(429, {}, {"Retry-After": "1"})]
        started = time.monotonic()
        await messenger.post_private(fresh("busy"), ALEX, message)
        posts = env.fake.called("response_url")
        assert len(posts) == 2 and time.monotonic() - started >= 0.9  # Slack's wait was kept
        assert posts[1].args["blocks"] == message.blocks and posts[1].args["response_type"] == "ephemeral"
        assert not env.fake.called("chat.postEphemeral")

        env.fake.script["response_url"] = [(500, {"error": "oops"}, {})]
        await messenger.post_private(fresh("broken"), ALEX, message)  # it may have posted: no retry
        assert len(env.fake.called("response_url")) == 3
        assert len(env.fake.called("chat.postEphemeral")) == 1  # the fallback told the person
