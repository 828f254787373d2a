"""Outbound Teams: retries on 429/412/5xx, pacing, proactive posts and late invoke answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from botbuilder.schema import Activity

from bot import places
from bot.context import Context, Reply
from bot.model import Actor, Interaction, MessageRef, PlatformIdentity, Principal, ReplyTarget
from bot.platforms.teams import bot as teams_bot
from bot.platforms.teams.bot import command_text
from bot.platforms.teams.delivery import Pacer
from bot.platforms.teams.messenger import NoConversation
from bot.registry import ActionSpec, an_id
from cards.model import Button, Card, Text
from integrations.http import parse_retry_after
from storage.directory import DirectoryRepo
from storage.teams import TeamsConversationRepo
from storage.tenants import TenantRepo
from tests.fakes.bot_connector import ALEX, TENANT, FakeBotFramework, teams_deskhand
from tests.fakes.bot_connector import load as load_fixture

PERSONAL = load_fixture("message_personal")["conversation"]["id"]
CHANNEL = load_fixture("conversation_update_bot_added")["conversation"]["id"]


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(ALEX)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


@pytest.fixture
async def deskhand(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Any]:
    async with teams_deskhand(tmp_path, fake) as live:
        yield live


def test_command_text_strips_only_the_bots_mention() -> None:
    activity = Activity().deserialize({
        "type": "message", "text": "<at>deskhand</at> role grant Auditor to <at>Sam</at> &amp; co",
        "recipient": {"id": "28:bot"},
        "entities": [{"type": "mention", "text": "<at>deskhand</at>", "mentioned": {"id": "28:bot"}},
                     {"type": "mention", "text": "<at>Sam</at>", "mentioned": {"id": "29:sam"}}]})
    assert command_text(activity) == "role grant Auditor to Sam & co"
    assert command_text(Activity(type="message", text="  devices\u00a0London ")) == "devices London"


def test_retry_after_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert 8 <= (parse_retry_after(formatdate(time.time() + 10, usegmt=True)) or 0) <= 10
    assert parse_retry_after("soon") is None and parse_retry_after("-3") is None
    assert parse_retry_after("nan") is None and parse_retry_after("inf") is None
    assert parse_retry_after(None) is None


async def test_pacer_holds_one_conversation_not_the_others() -> None:
    pacer = Pacer(((3, 0.3),))
    started = time.monotonic()
    for _ in range(3):
        await pacer.wait("a")
    await pacer.wait("b")
    assert time.monotonic() - started < 0.1
    await pacer.wait("a")  # the fourth send in the window waits for the first to age out
    assert time.monotonic() - started >= 0.29


async def test_429_is_retried_after_retry_after(fake: FakeBotFramework, deskhand: Any) -> None:
    fake.fail("send", 429, retry_after="1")
    await fake.send(deskhand.url, fake.activity("message_personal", text="help"))
    posts = await fake.wait_for("send", count=2, seconds=10)
    assert len(posts) == 2 and posts[1].cards
    assert posts[1].at - posts[0].at >= 0.95


async def test_retries_are_bounded(fake: FakeBotFramework, deskhand: Any) -> None:
    fake.fail("send", 503, retry_after="0", times=10)
    await fake.send(deskhand.url, fake.activity("message_personal", text="help"))
    await fake.wait_for("send", count=9, seconds=3)
    # Four attempts at the answer, then four at telling the person it failed; then it stops.
    posts = fake.posted()
    assert len(posts) == 8
    assert "What you can do" in str(posts[0].body) and "went wrong" in str(posts[4].body)


async def test_a_refusal_is_not_retried(fake: FakeBotFramework, deskhand: Any) -> None:
    fake.fail("send", 403)  # e.g. MessageWritesBlocked: the user blocked the bot
    await fake.send(deskhand.url, fake.activity("message_personal", text="help"))
    await fake.wait_for("send", count=3, seconds=1)
    # One attempt at the answer (not retried), then one at saying it failed, with the reference.
    posts = fake.posted()
    assert len(posts) == 2 and "Something went wrong on our side" in str(posts[1].body)


async def test_member_lookup_412_is_retried(fake: FakeBotFramework, deskhand: Any) -> None:
    fake.fail("member", 412, retry_after="0")
    await fake.send(deskhand.url, fake.activity("message_personal", text="whoami"))
    posts = await fake.wait_for("send", count=1)
    assert len(fake.called("member")) == 2
    assert "Alex Admin" in str(posts[0].cards[0])


async def test_proactive_post_and_later_update(fake: FakeBotFramework, deskhand: Any) -> None:
    status, _ = await fake.send(deskhand.url, fake.activity("conversation_update_bot_added"))
    assert status == 201
    messenger = deskhand.runtime.platforms["teams"].messenger
    ref = await messenger.post(ReplyTarget("teams", CHANNEL), Card("Reminder", [Text("Token expires")]))
    assert ref.channel == CHANNEL and ref.message_id and ref.extra["reference"]
    sent = fake.posted()
    assert sent[-1].conversation == CHANNEL and sent[-1].cards[0]["body"][0]["text"] == "Reminder"
    # much later, in another process: only the ids were kept, the reference comes from the db
    await messenger.update(MessageRef("teams", CHANNEL, ref.message_id), Card("Renewed"))
    updates = await fake.wait_for("update")
    assert updates[0].activity_id == ref.message_id
    assert updates[0].cards[0]["body"][0]["text"] == "Renewed"


async def test_private_post_from_another_platform_reaches_the_1to1_chat(
        fake: FakeBotFramework, deskhand: Any) -> None:
    await fake.send(deskhand.url, fake.activity("installation_update_add"))
    await fake.send(deskhand.url, fake.activity("conversation_update_bot_added"))
    await fake.send(deskhand.url, fake.activity("message_personal", text="whoami"))  # links Alex
    await fake.wait_for("send", count=1)
    rt = deskhand.runtime
    async with rt.db.uow() as uow:
        alex = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, "alex.admin@example.com")
    assert alex is not None
    from bot.identity import to_principal

    actor = Actor(to_principal(alex), PlatformIdentity("console", "local", str(alex.id)))
    ref = await rt.platforms["teams"].messenger.post(
        ReplyTarget("teams", CHANNEL), Card("Only for you"), private_to=actor)
    assert ref.channel == PERSONAL


async def test_nothing_is_posted_where_deskhand_was_removed(fake: FakeBotFramework,
                                                            deskhand: Any) -> None:
    await fake.send(deskhand.url, fake.activity("installation_update_add"))
    await fake.send(deskhand.url, fake.activity("installation_update_add", action="remove"))
    messenger = deskhand.runtime.platforms["teams"].messenger
    with pytest.raises(NoConversation):
        await messenger.post(ReplyTarget("teams", PERSONAL), Card("Hello?"))


async def test_a_slow_click_is_answered_in_time_and_finished_later(
        fake: FakeBotFramework, deskhand: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teams_bot, "INVOKE_BUDGET", 0.3)

    async def slow(ctx: Context, interaction: Interaction) -> Reply:
        await asyncio.sleep(0.8)
        return Reply.update(Card("Finished", buttons=[Button("Again", "slow:1")]))

    deskhand.runtime.registry.add_action(ActionSpec("slow", slow, params=(an_id,)))
    invoke = fake.activity("invoke_action_execute", replyToId="1732443099999")
    invoke["value"]["action"].update(verb="slow:1", data={"deskhand.action": "slow:1"})
    started = time.monotonic()
    status, body = await fake.send(deskhand.url, invoke)
    assert status == 200 and time.monotonic() - started < 0.8
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "Working on it" in body["value"]
    updates = await fake.wait_for("update", seconds=5)
    assert updates[0].activity_id == "1732443099999"
    assert updates[0].cards[0]["body"][0]["text"] == "Finished"


async def test_stored_references_on_both_databases(database: Any) -> None:
    """The repository deskhand posts through, on SQLite and PostgreSQL."""
    async with database.uow() as uow:
        conversations = uow.repo(TeamsConversationRepo)
        tenant = await uow.repo(TenantRepo).ensure("acme", "Acme")
        common = {"conversation_type": "personal", "aad_tenant_id": "t", "service_url": "https://s/",
                  "reference": {"conversation": {"id": PERSONAL}}}
        await conversations.upsert(tenant.id, PERSONAL, user_aad_id="aad-1", **common)
        await conversations.upsert(tenant.id, CHANNEL, **{**common, "conversation_type": "channel",
                                                          "channel_id": CHANNEL})
        await uow.commit()
    async with database.uow() as uow:
        conversations = uow.repo(TeamsConversationRepo)
        assert (await conversations.personal(tenant.id, "aad-1")).conversation_id == PERSONAL
        assert (await conversations.channel(tenant.id, CHANNEL)).conversation_type == "channel"
        await conversations.upsert(tenant.id, PERSONAL, service_url="https://moved/")
        await conversations.uninstalled(tenant.id, PERSONAL)
        await uow.commit()
    async with database.uow() as uow:
        conversations = uow.repo(TeamsConversationRepo)
        row = await conversations.get(tenant.id, PERSONAL)
        assert row is not None and row.service_url == "https://moved/" and not row.installed
        assert await conversations.personal(tenant.id, "aad-1") is None


async def test_a_notice_goes_to_the_1to1_chat_or_nowhere_never_to_the_channel(
        fake: FakeBotFramework, deskhand: Any) -> None:
    """bot/places.tell: Teams has no ephemeral messages, so a notice meant for one person in a
    channel goes to their 1:1 chat; without one it is not sent at all."""
    await fake.send(deskhand.url, fake.activity("conversation_update_bot_added"))
    rt = deskhand.runtime
    asker = Actor(Principal(1, rt.tenant_id, ALEX.email or "", "Alex Admin"),
                  PlatformIdentity("teams", TENANT, ALEX.aad or ""))
    asked_in = places.stored(ReplyTarget("teams", CHANNEL), asker)
    sent = len(fake.posted())
    assert await places.tell(rt, asked_in, Card("Your run 7 was approved")) is False
    assert len(fake.posted()) == sent  # nothing reached the channel
    await fake.send(deskhand.url, fake.activity("installation_update_add"))  # Alex installs deskhand
    assert await places.tell(rt, asked_in, Card("Your run 7 was approved")) is True
    assert fake.posted()[-1].conversation == PERSONAL
