"""`device <action>` through Teams: Bot Framework message activities (signed JWTs) POSTed to
/api/messages, the Adaptive Card at the fake connector, the command at the Workspace ONE
simulator (loopback), and the audit trail. deskhand runs in production mode, auth on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from tests.bot.platforms.test_teams import PERSONAL, say, texts
from tests.fakes.bot_connector import ALEX, NINA, SAM, FakeBotFramework, teams_deskhand
from tests.handlers.ws1_env import (
    ACTS,
    aim,
    assert_done,
    audit_of,
    device_in,
    owner_of,
    simulator,
    ws1_settings,
)

Live = tuple[Any, WorkspaceOneSimulator]
SAM_EMAIL = "sam.standard@example.com"


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    for user in (ALEX, NINA, SAM):
        fake.add_user(user)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


@pytest.fixture
async def live(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Live]:
    async with simulator() as (sim, url), \
            teams_deskhand(tmp_path, fake, **ws1_settings(url)) as deskhand:
        await aim(deskhand, sim)
        yield deskhand, sim


def card_of(call: Any) -> dict[str, Any]:
    [card] = call.cards
    return card


async def test_lock_from_a_personal_chat_by_endpoint_standard(fake: FakeBotFramework,
                                                            live: Live) -> None:
    deskhand, sim = live
    pc = await device_in(deskhand, "London")
    call = await say(fake, deskhand, f"device lock {pc} for INC0012345", user=SAM)
    assert call.conversation == PERSONAL and call.authorized
    shown = texts(card_of(call))
    assert shown.startswith(f"Lock: {pc}") and "sent the lock command" in shown
    assert "Platform: Windows" in shown and "For: INC0012345" in shown
    [lock] = sim.sent_to(pc, "Lock")
    [note] = sim.sent_to(pc, "Note")
    assert "Lock by sam.standard@example.com" in note.body["Note"]
    [row] = await audit_of(deskhand, "ws1.lock")
    assert (row.kind, row.outcome, row.target, row.actor_email) == (
        "external", "ok", pc, "sam.standard@example.com")
    assert row.platform_identity and row.platform_identity.startswith("teams:")
    assert row.params["ws1_id"] == lock.device_id and f"ref {row.correlation_id}" in shown


async def test_message_reaches_the_device_with_its_text(fake: FakeBotFramework, live: Live) -> None:
    deskhand, sim = live
    pc = await device_in(deskhand, "New York")
    owner = await owner_of(deskhand, pc)  # email validation: `for` names the enrolled user
    call = await say(fake, deskhand,
                     f'device message {pc} for {owner} message="Call the desk, please"')
    shown = texts(card_of(call))
    assert shown.startswith(f"Send a message: {pc}") and f"For: {owner}" in shown
    [sent] = sim.sent_to(pc, "Message")
    assert sent.body["MessageBody"] == "Call the desk, please"
    [row] = await audit_of(deskhand, "ws1.message")
    assert (row.outcome, row.actor_email, row.params["for"]) == (
        "ok", "alex.admin@example.com", owner)


@pytest.mark.parametrize("action", ["sync", "find", "soft-reset", "log", "add", "passcode"])
async def test_each_action_in_a_personal_chat_is_sent_noted_and_audited(
        fake: FakeBotFramework, live: Live, action: str) -> None:
    deskhand, sim = live
    act = ACTS[action]  # find and passcode (cleared) on an iPhone
    device = await device_in(deskhand, "London", act.prefix)
    call = await say(fake, deskhand, act.command.format(d=device), user=SAM)  # Endpoint Standard
    assert call.conversation == PERSONAL and call.authorized
    shown = texts(card_of(call))
    assert shown.startswith(f"{act.title}: {device}"), shown
    assert_done(sim, act, device, SAM_EMAIL)
    [row] = await audit_of(deskhand, act.audited)
    assert (row.kind, row.outcome, row.target, row.actor_email) == ("external", "ok", device, SAM_EMAIL)
    assert row.platform_identity and row.platform_identity.startswith("teams:")
    assert row.params["ws1_id"] == sim.sent_to(device)[0].device_id
    assert f"ref {row.correlation_id}" in shown


async def test_for_someone_else_than_the_enrolled_user_is_refused_and_nothing_sent(
        fake: FakeBotFramework, live: Live) -> None:
    deskhand, sim = live
    phone = await device_in(deskhand, "London", "IPH-")
    stranger = "not.the.owner@example.com"
    call = await say(fake, deskhand, f"device find {phone} for {stranger}", user=SAM)
    shown = texts(card_of(call))
    assert shown.startswith("Not the device's user")
    assert f"{stranger} is not the user enrolled on {phone}" in shown
    assert await owner_of(deskhand, phone) not in shown  # nor who is
    assert sim.sent == [] and not any(k.startswith("POST") for k in sim.hits)
    [row] = await audit_of(deskhand, "ws1.find")
    assert (row.kind, row.outcome, row.params["for"]) == ("external", "refused", stranger)


async def test_without_the_permission_nothing_is_sent(fake: FakeBotFramework, live: Live) -> None:
    deskhand, sim = live
    pc = await device_in(deskhand, "London")
    call = await say(fake, deskhand, f"device lock {pc}", user=NINA)
    assert "Not allowed" in texts(card_of(call))
    assert sim.sent == [] and await audit_of(deskhand, "ws1.lock") == []
    [denial] = await audit_of(deskhand, "device lock")
    assert (denial.kind, denial.actor_email) == ("denial", "nina.new@example.com")
