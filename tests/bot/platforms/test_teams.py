"""Teams end to end: signed activities POSTed to /api/messages, replies at the fake connector.

deskhand runs in production mode with Bot Framework auth on; every activity carries a JWT
minted here with a key whose OpenID metadata and JWKS the fake serves over loopback.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql

from bot.identity import NO_ACCESS
from storage.audit import AuditRepo
from storage.directory import DirectoryRepo
from storage.inbox import NewItem
from storage.teams import TeamsConversationRepo
from tests.fakes.bot_connector import (
    ALEX,
    GUEST,
    NINA,
    SAM,
    STRANGER,
    Call,
    FakeBotFramework,
    teams_deskhand,
    validator_or_skip,
)
from tests.fakes.bot_connector import load as load_fixture

PERSONAL = load_fixture("message_personal")["conversation"]["id"]
THREAD = load_fixture("message_channel_mention")["conversation"]["id"]
CHANNEL = THREAD.split(";", 1)[0]


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    for user in (ALEX, NINA, SAM, STRANGER):
        fake.add_user(user)
    yield fake
    fake.stop()
    assert not fake.card_problems, "every card deskhand sent must validate against AC 1.5"


@pytest.fixture
async def deskhand(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Any]:
    async with teams_deskhand(tmp_path, fake) as live:
        yield live


def texts(card: dict[str, Any]) -> str:
    """Every TextBlock and fact in a card, in order, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                out.append(node["text"])
            if node.get("type") == "FactSet":
                out.extend(f"{f['title']}: {f['value']}" for f in node["facts"])
            for key, value in node.items():
                if key != "fallback":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("body", []))
    return "\n".join(out)


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for el in card["body"] if el["type"] == "ActionSet" for a in el["actions"]]


def table_names(card: dict[str, Any]) -> list[str]:
    table = next(el for el in card["body"] if el["type"] == "Table")
    return [row["cells"][0]["items"][0]["text"] for row in table["rows"][1:]]


async def say(fake: FakeBotFramework, deskhand: Any, text: str, fixture: str = "message_personal",
              user: Any = ALEX) -> Call:
    before = len(fake.posted())
    started = time.monotonic()
    status, _ = await fake.send(deskhand.url, fake.activity(fixture, user, text=text))
    assert status == 201
    assert time.monotonic() - started < 2, "the HTTP answer must not wait for the work"
    posted = await fake.wait_for("send", "reply", count=before + 1)
    assert len(posted) == before + 1, f"no reply to {text!r}"
    return posted[-1]


async def test_help_in_a_personal_chat(fake: FakeBotFramework, deskhand: Any) -> None:
    call = await say(fake, deskhand, "help")
    assert call.conversation == PERSONAL and call.authorized
    card = call.cards[0]
    assert card["body"][0]["text"] == "What you can do" and card["version"] == "1.5"
    assert "role grant" in texts(card)
    kinds = [c.kind for c in fake.calls]
    # token first, then the typing indicator (the work has started), the member lookup, the answer
    assert kinds[:4] == ["token", "send", "member", "send"]
    assert fake.called("send")[0].body["type"] == "typing"
    assert fake.called("member")[0].activity_id == ALEX.mri
    assert not fake.card_problems


async def test_mention_is_stripped_in_a_channel(fake: FakeBotFramework, deskhand: Any) -> None:
    call = await say(fake, deskhand, "<at>deskhand</at> devices&nbsp;group=London",
                     fixture="message_channel_mention")
    # No 1:1 chat with Alex is stored, so the private reply stays in the thread.
    assert call.conversation == THREAD
    card = call.cards[0]
    assert card["body"][0]["text"] == "Devices"
    assert "in London" in texts(card)
    assert card["msteams"] == {"width": "Full"}
    assert not fake.card_problems


async def test_private_reply_goes_to_the_personal_chat(fake: FakeBotFramework,
                                                       deskhand: Any) -> None:
    status, _ = await fake.send(deskhand.url, fake.activity("installation_update_add"))
    assert status == 201
    call = await say(fake, deskhand, "<at>deskhand</at> devices", fixture="message_channel_mention")
    assert call.conversation == PERSONAL


async def test_button_invoke_returns_the_updated_card(fake: FakeBotFramework,
                                                     deskhand: Any) -> None:
    first = await say(fake, deskhand, "devices")
    page_one = table_names(first.cards[0])
    more = actions(first.cards[0])[0]
    assert more["type"] == "Action.Execute" and more["fallback"]["type"] == "Action.Submit"
    invoke = fake.activity("invoke_action_execute", replyToId=first.response_id)
    invoke["value"]["action"].update(verb=more["verb"], data=more["data"])
    status, body = await fake.send(deskhand.url, invoke)
    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    page_two = table_names(body["value"])
    assert len(page_two) == len(page_one) and page_two[0] > page_one[-1]
    validator = validator_or_skip()
    from tests.fakes.bot_connector import card_errors

    assert card_errors(body["value"], validator) == []
    # everyone else sees the new page too: the card is replaced with update_activity
    updates = await fake.wait_for("update")
    assert updates and updates[0].activity_id == first.response_id
    assert table_names(updates[0].cards[0]) == page_two


async def test_submit_fallback_updates_the_card(fake: FakeBotFramework, deskhand: Any) -> None:
    first = await say(fake, deskhand, "devices")
    more = actions(first.cards[0])[0]["fallback"]
    submit = fake.activity("message_submit", replyToId=first.response_id, value=more["data"])
    status, _ = await fake.send(deskhand.url, submit)
    assert status == 201
    updates = await fake.wait_for("update")
    assert len(updates) == 1 and updates[0].activity_id == first.response_id
    assert table_names(updates[0].cards[0])[0] > table_names(first.cards[0])[-1]


async def test_a_user_without_a_principal_gets_the_access_text(fake: FakeBotFramework,
                                                              deskhand: Any) -> None:
    call = await say(fake, deskhand, "devices", user=STRANGER)
    assert NO_ACCESS in texts(call.cards[0])
    guest = await say(fake, deskhand, "help", user=GUEST)
    assert NO_ACCESS in texts(guest.cards[0])
    # the anonymous guest has no Entra id, so nobody is looked up for them
    assert [c.activity_id for c in fake.called("member")] == [STRANGER.mri]
    async with deskhand.runtime.db.uow() as uow:
        events = await uow.repo(AuditRepo).query(deskhand.runtime.tenant_id)
    # nothing ran for them, and the refusal is audited as on every platform
    assert [(e.kind, e.outcome) for e in events if e.action == "devices"] == [("denial", "unknown_user")]


async def test_invoke_from_a_user_without_a_principal(fake: FakeBotFramework,
                                                      deskhand: Any) -> None:
    invoke = fake.activity("invoke_action_execute", STRANGER)
    status, body = await fake.send(deskhand.url, invoke)
    assert status == 200 and body["type"] == "application/vnd.microsoft.activity.message"
    assert NO_ACCESS in body["value"] and "ref " in body["value"]  # the same answer as elsewhere
    assert not fake.called("update")


async def test_denied_command_and_denied_click(fake: FakeBotFramework, deskhand: Any) -> None:
    call = await say(fake, deskhand, "devices", user=NINA)
    assert "Not allowed" in texts(call.cards[0]) and "device.read" in texts(call.cards[0])
    invoke = fake.activity("invoke_action_execute", NINA)
    status, body = await fake.send(deskhand.url, invoke)
    # a private refusal is shown to the clicker only, and the card stays as it was
    assert status == 200 and body["type"] == "application/vnd.microsoft.activity.message"
    assert "Not allowed" in body["value"]
    assert not fake.called("update")


async def test_upn_links_when_the_mailbox_address_is_unknown(fake: FakeBotFramework,
                                                            deskhand: Any) -> None:
    call = await say(fake, deskhand, "whoami", user=SAM)
    assert "sam.standard@example.com" in texts(call.cards[0]).lower()
    async with deskhand.runtime.db.uow() as uow:
        link = await uow.repo(DirectoryRepo).identity("teams", fake.tenant, SAM.aad or "")
    assert link is not None
    await say(fake, deskhand, "whoami", user=SAM)
    assert len(fake.called("member")) == 1, "the stored link is used the second time"


async def test_audit_export_is_a_signed_download_link(fake: FakeBotFramework,
                                                      deskhand: Any) -> None:
    await say(fake, deskhand, "help")
    call = await say(fake, deskhand, "audit")
    links = [a for a in actions(call.cards[0]) if a["type"] == "Action.OpenUrl"]
    assert links and links[0]["url"].startswith(f"{deskhand.url}/downloads/")


async def test_conversation_references_are_stored(fake: FakeBotFramework, deskhand: Any) -> None:
    status, _ = await fake.send(deskhand.url, fake.activity("conversation_update_bot_added"))
    assert status == 201
    await say(fake, deskhand, "<at>deskhand</at> help", fixture="message_channel_mention")
    async with deskhand.runtime.db.uow() as uow:
        channel = await uow.repo(TeamsConversationRepo).channel(deskhand.runtime.tenant_id, CHANNEL)
        thread = await uow.repo(TeamsConversationRepo).get(deskhand.runtime.tenant_id, THREAD)
    assert channel is not None and thread is not None
    assert channel.service_url == fake.service_url and channel.team_id
    assert channel.reference["conversation"]["id"] == CHANNEL
    assert thread.reference["serviceUrl"] == fake.service_url


async def test_a_command_that_cannot_be_stored_is_answered_in_the_turn(fake: FakeBotFramework,
                                                                      deskhand: Any) -> None:
    async with deskhand.runtime.db.engine.begin() as conn:
        await conn.execute(sql("DROP TABLE inbox"))  # the database refuses every write
    call = await say(fake, deskhand, "devices")
    said = str(call.body)
    assert "could not take “devices”" in said and "(ref " in said
    assert "Traceback" not in said and "inbox" not in said


async def test_a_command_that_waited_too_long_is_not_run(fake: FakeBotFramework, deskhand: Any) -> None:
    rt = deskhand.runtime
    activity = fake.activity("message_personal", text="devices")
    await rt.inbox.store.add([NewItem(  # as a listener left it before deskhand was down 2 hours
        "teams", "command", rt.inbox.box.seal(json.dumps({"activity": activity})),
        datetime.now(UTC) - timedelta(hours=2))])
    rt.inbox.wake()
    (call,) = await fake.wait_for("send", "reply")
    said = str(call.body)
    assert call.conversation == PERSONAL
    assert "waited too long" in said and "“devices”" in said
    assert not call.cards or call.cards[0]["body"][0]["text"] != "Devices"  # not run
