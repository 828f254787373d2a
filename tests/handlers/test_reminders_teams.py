"""Reminders in Teams, as proactive messages: a token's creator in their 1:1 chat (created
through the connector when none is stored), the certificate admins mentioned in the admin
channel set with `channel set admin here`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.reminders import sweep
from tests.bot.platforms.test_teams import CHANNEL, PERSONAL, actions, say, texts
from tests.fakes.bot_connector import ALEX, SAM, TENANT, FakeBotFramework, teams_deskhand
from tests.handlers.reminders_kit import T0, add_certificate, add_token, link

DAY = timedelta(days=1)


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(ALEX)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


@pytest.fixture
async def live(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Any]:
    async with teams_deskhand(tmp_path, fake) as live:
        yield live


async def test_a_token_reminder_goes_to_the_creators_stored_1_1_chat(
        fake: FakeBotFramework, live: Any) -> None:
    await say(fake, live, "whoami")  # Alex's 1:1 chat with deskhand is stored, Alex linked
    rt = live.runtime
    token = await add_token(rt, "bi-feed", T0 + 2 * DAY)
    assert await sweep(rt, rt.registry.reminders, now=T0) == 1
    post = fake.posted()[-1]
    assert post.conversation == PERSONAL and post.kind == "send"
    [card] = post.cards
    assert "Your data-access token bi-feed expires in 3 days" in texts(card)
    [renew] = actions(card)
    assert renew["title"] == "Create a replacement"
    assert renew["verb"] == f"token.renew:{token}"


async def test_without_a_stored_1_1_chat_one_is_created_through_the_connector(
        fake: FakeBotFramework, live: Any) -> None:
    await say(fake, live, "whoami", fixture="message_channel_mention")  # only a channel is known
    rt = live.runtime
    await add_token(rt, "bi-feed", T0 + 6 * DAY)
    assert await sweep(rt, rt.registry.reminders, now=T0) == 1
    [create] = fake.called("create")
    assert create.body["members"][0]["id"] == ALEX.aad
    assert create.body["channelData"]["tenant"]["id"] == TENANT
    post = fake.posted()[-1]
    assert post.conversation == f"a:1personal-{ALEX.aad}"
    assert "expires in 7 days" in texts(post.cards[0])
    await add_token(rt, "second", T0 + 7.5 * DAY)
    assert await sweep(rt, rt.registry.reminders, now=T0 + DAY) == 1
    assert len(fake.called("create")) == 1  # the new 1:1 chat was stored and used again
    assert fake.posted()[-1].conversation == f"a:1personal-{ALEX.aad}"


async def test_the_certificate_admins_are_mentioned_in_the_teams_admin_channel(
        fake: FakeBotFramework, live: Any) -> None:
    said = await say(fake, live, "channel set admin here", fixture="message_channel_mention")
    assert "Admin channel set" in texts(said.cards[0])
    rt = live.runtime
    await link(rt, "sam.standard@example.com", "teams", TENANT, SAM.aad or "")
    await add_certificate(rt, "AB" * 20, T0 + 10 * DAY)
    assert await sweep(rt, rt.registry.reminders, now=T0) == 1
    post = fake.posted()[-1]
    assert post.conversation == CHANNEL
    [card] = post.cards
    assert "<at>Alex Admin</at>" in texts(card)
    assert card["msteams"]["entities"] == [{
        "type": "mention", "text": "<at>Alex Admin</at>",
        "mentioned": {"id": ALEX.aad, "name": "Alex Admin"}}]  # Sam holds no certificate.write
