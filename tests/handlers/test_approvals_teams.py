"""Approvals through Teams: the request card goes to the approvers' Teams channel proactively, an
approver decides there with Action.Execute, and every copy changes in place.

deskhand runs in production mode with Bot Framework auth on (JWTs minted by the fake connector),
its Tachyon client aimed at the simulator; Sam asks in his personal chat, Alex decides in the
channel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from integrations.simulator_kit import serve
from integrations.tachyon.sim_api import Switches
from integrations.tachyon.simulator import TachyonSimulator
from storage.tenants import SettingsRepo
from tests.bot.platforms.test_teams import CHANNEL, PERSONAL, actions, texts
from tests.fakes.bot_connector import ALEX, SAM, Call, FakeBotFramework, teams_deskhand
from tests.workflows.env import APPROVER, APPROVER_TOKEN, FAST, QUICK, SERVICE, TOKEN, devices_in, sim_fleet

SAM_EMAIL = "sam.standard@example.com"


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    for user in (ALEX, SAM):
        fake.add_user(user)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[TachyonSimulator, str]]:
    sim = TachyonSimulator(tokens={TOKEN: SERVICE, APPROVER_TOKEN: APPROVER}, switches=Switches(**QUICK))
    runner, url = await serve(sim)
    yield sim, url
    await runner.cleanup()


@pytest.fixture
async def live(tmp_path: Path, fake: FakeBotFramework, sim: tuple[TachyonSimulator, str]
               ) -> AsyncIterator[Any]:
    simulator, sim_url = sim
    async with teams_deskhand(tmp_path, fake, tachyon_url=sim_url, tachyon_token=TOKEN,
                              tachyon_approver_token=APPROVER_TOKEN) as live:
        rt = live.runtime
        await sim_fleet(rt.db, rt.tenant_id, simulator)
        rt.tenant_clients.tune("1e", policy=FAST)
        async with rt.db.uow() as uow:
            for role in ("Actioner", "Approver"):  # Sam may approve London runs, but not his own
                await rbac_admin.grant(uow, rt.tenant_id, Granter("test"), role, email=SAM_EMAIL,
                                       scope=Scope(device_groups=["London"]))
            await uow.repo(SettingsRepo).put(rt.tenant_id, {"status_wait_seconds": 1,
                                                            "approval_channel_teams": CHANNEL}, by="test")
            await uow.commit()
        yield live


async def wait_call(fake: FakeBotFramework, match: Any, seconds: float = 20) -> Call:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [c for c in fake.calls if match(c)]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    seen = [(c.kind, c.conversation[:40], [texts(card)[:300] for card in c.cards]) for c in fake.calls]
    raise AssertionError(f"the connector never received the expected call; it got {seen}")


def titled(text: str, kind: str = "send", conversation: str | None = None) -> Any:
    return lambda c: c.kind == kind and (conversation is None or c.conversation == conversation) \
        and any(text in texts(card) for card in c.cards)


def execute(fake: FakeBotFramework, user: Any, conversation: str, message_id: str,
            action: dict[str, Any], **inputs: str) -> dict[str, Any]:
    invoke = fake.activity("invoke_action_execute", user, replyToId=message_id)
    invoke["conversation"] = {**invoke["conversation"], "conversationType": "channel", "id": conversation}
    invoke["value"]["action"].update(verb=action["verb"], data={**action["data"], **inputs})
    return invoke


async def test_request_reaches_the_teams_channel_and_a_decision_there_updates_every_copy(
        fake: FakeBotFramework, live: Any, sim: tuple[TachyonSimulator, str]) -> None:
    status, _ = await fake.send(live.url, fake.activity("conversation_update_bot_added"))
    assert status == 201  # installing the bot in the team stored the channel's reference
    [device] = await devices_in(live, "London")
    ask = fake.activity("message_personal", SAM, text=f"run RestartService serviceName=Spooler on {device}")
    assert (await fake.send(live.url, ask))[0] == 201

    mine = await wait_call(fake, titled("RestartService", "send", PERSONAL))
    channel = await wait_call(fake, titled("Approval needed", "send", CHANNEL))
    assert "reply" not in [c.kind for c in fake.calls if c.conversation == CHANNEL]  # proactive post
    buttons = {a["title"]: a for a in actions(channel.cards[0])}
    assert set(buttons) == {"Approve", "Deny"} and not [a for a in actions(mine.cards[0])
                                                       if a["title"] == "Approve"]
    assert any(el.get("id") == "reason" for el in channel.cards[0]["body"])

    # Sam cannot approve his own request, even from the channel.
    status, body = await fake.send(live.url, execute(fake, SAM, CHANNEL, channel.response_id,
                                                     buttons["Approve"], reason="mine"))
    assert status == 200 and body["type"] == "application/vnd.microsoft.activity.message"
    assert "someone else must decide" in body["value"]  # shown to Sam only; the card stays

    # Updating the copies is slow today; the invoke must not wait for it (Teams gives it ~5 s).
    fake.delays["update"] = 3.0
    started = time.monotonic()
    status, body = await fake.send(live.url, execute(fake, ALEX, CHANNEL, channel.response_id,
                                                     buttons["Approve"], reason="change window"))
    assert status == 200 and body["statusCode"] == 200 and "approved" in body["value"]
    assert time.monotonic() - started < 2.5, "the invoke waited for the other copies' updates"
    fake.delays.clear()

    # The channel copy and Sam's own card change in place; the run goes to 1E and completes.
    decided = await wait_call(fake, lambda c: c.kind == "update" and c.activity_id == channel.response_id
                              and "approved by alex.admin@example.com: change window" in texts(c.cards[0]))
    assert not actions(decided.cards[0]) and decided.conversation == CHANNEL
    done = await wait_call(fake, lambda c: c.kind == "update" and c.activity_id == mine.response_id
                           and "State: completed" in texts(c.cards[0]))
    assert "Show results" in [a["title"] for a in actions(done.cards[0])]
    assert {k: n for k, n in sim[0].hits.items() if k.startswith("POST /consumer/instructions")} == {
        "POST /consumer/instructions/targeted": 1}
