"""Drivers that act as a person on the console, Slack or Teams and report what that person saw.

Each driver speaks its platform's real protocol to a running deskhand (console WebSocket, signed
Slack requests, Bot Framework activities with minted JWTs) and reduces what came back to a
platform-neutral `Outcome`, so one scenario can assert the same results on every platform.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from cards.blockkit import TONE_ICON
from tests.conftest import LiveServer
from tests.fakes import bot_connector as teams
from tests.fakes import slack_api as slack

# Teams caps fallbackText at 1000 characters and Slack at 3000: compare what every platform keeps.
TEXT_PREFIX = 900
_REF = re.compile(r"^ref \S+$")  # the error card's correlation id differs on every request


def plain(text: str) -> str:
    """Fallback text without Slack's mrkdwn escaping, correlation ids or a platform's cut."""
    lines = [line for line in html.unescape(text).splitlines() if not _REF.match(line.strip())]
    return "\n".join(lines)[:TEXT_PREFIX]


def strings(content: Any) -> str:
    """Every string in a rendered card, unescaped: all the text a person could see in it."""
    if isinstance(content, dict):
        return "\n".join(strings(v) for v in content.values())
    if isinstance(content, list):
        return "\n".join(strings(v) for v in content)
    return html.unescape(content) if isinstance(content, str) else ""


@dataclass(frozen=True)
class Shown:
    """A button as the person sees it: its label, the action it runs and its confirm step."""

    label: str
    action_id: str
    confirm: str | None  # the confirm dialog's "yes" label, None when it runs at once
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Outcome:
    title: str
    text: str  # plain() of the card's fallback text
    buttons: tuple[Shown, ...]
    private: bool  # seen by the person who asked only
    ref: str = field(default="", compare=False)  # the platform's message id
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def everything(self) -> str:
        """All text in the card as rendered, past the point where fallback texts are cut."""
        return strings(self.raw)


class Driver(Protocol):
    platform: str

    async def say(self, email: str, text: str) -> Outcome: ...

    async def click(self, email: str, message: Outcome, button: Shown) -> Outcome: ...


# -- console -----------------------------------------------------------------------------------

async def persona_id(server: LiveServer, email: str) -> int:
    async with aiohttp.ClientSession() as s, s.get(f"{server.url}/console/api/personas") as r:
        return next(p["id"] for p in await r.json() if p["email"] == email)


class ConsoleClient:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next(self, kind: str = "message") -> dict[str, Any]:
        while True:
            data = await asyncio.wait_for(self.ws.receive_json(), 10)
            if data["type"] == kind and (kind != "message" or data["message"]["kind"] == "card"):
                return data["message"] if kind in ("message", "update") else data

    async def say(self, text: str) -> dict[str, Any]:
        await self.ws.send_json({"type": "command", "text": text})
        return await self.next()

    async def click(self, message: dict[str, Any], button: dict[str, Any]) -> None:
        await self.ws.send_json({"type": "action", "message_id": message["id"],
                                 "action_id": button["action_id"], "value": button["value"]})


def console_outcome(message: dict[str, Any]) -> Outcome:
    card = message["card"]
    buttons = tuple(Shown(b["label"], b["action_id"], (b.get("confirm") or {}).get("confirm"), b)
                    for b in card["buttons"])
    return Outcome(card["title"], plain(card["fallback"]), buttons, message["private"],
                   message["id"], message)


class ConsoleDriver:
    platform = "console"

    def __init__(self, server: LiveServer, http: aiohttp.ClientSession) -> None:
        self.server, self.http = server, http
        self.clients: dict[str, ConsoleClient] = {}

    async def _client(self, email: str) -> ConsoleClient:
        if email not in self.clients:
            pid = await persona_id(self.server, email)
            ws = await self.http.ws_connect(f"{self.server.url}/console/ws?persona={pid}")
            client = ConsoleClient(ws)
            assert (await client.next("hello"))["persona"] == email
            self.clients[email] = client
        return self.clients[email]

    async def say(self, email: str, text: str) -> Outcome:
        try:
            return console_outcome(await (await self._client(email)).say(text))
        except aiohttp.ClientConnectionResetError:
            # The console closes a socket that answered no heartbeat ping (30 s), as it does
            # for a browser gone away: nobody reads this one during a test's long pause (a
            # client installing itself). Nothing was sent, so a new connection says it again.
            self.clients.pop(email, None)
            return console_outcome(await (await self._client(email)).say(text))

    async def click(self, email: str, message: Outcome, button: Shown) -> Outcome:
        client = await self._client(email)
        await client.click(message.raw, button.raw)
        updated = await client.next("update")
        assert updated["id"] == message.ref, "the clicked card is the one updated"
        return console_outcome(updated)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.ws.close()


# -- Slack -------------------------------------------------------------------------------------

SLACK_USERS = {"alex.admin@example.com": slack.ALEX, "nina.new@example.com": slack.NINA}
REPLIES = ("response_url", "chat.postMessage", "chat.postEphemeral")


def slack_outcome(args: dict[str, Any], private: bool, ref: str) -> Outcome:
    blocks = json.loads(args["blocks"]) if isinstance(args["blocks"], str) else args["blocks"]
    assert slack.validate_blocks(blocks) is None
    header = blocks[0]["text"]["text"]
    title = next((header.removeprefix(icon) for icon in TONE_ICON.values() if icon and
                  header.startswith(icon)), header)
    buttons = tuple(
        Shown(e["text"]["text"], e["action_id"], (e.get("confirm") or {}).get("confirm", {}).get("text"),
              e)
        for b in blocks if b["type"] == "actions" for e in b["elements"])
    return Outcome(title, plain(args["text"]), buttons, private, ref, args)


class SlackDriver:
    platform = "slack"

    def __init__(self, env: slack.SlackEnv) -> None:
        self.env, self.fake = env, env.fake
        self._n = 0

    async def _next(self, methods: tuple[str, ...], before: int) -> slack.Call:
        deadline = time.monotonic() + 10
        while True:
            calls = [c for c in self.fake.calls if c.method in methods]
            if len(calls) > before:
                return calls[before]
            assert time.monotonic() < deadline, f"no {methods} call; calls: {self.fake.calls}"
            await asyncio.sleep(0.02)

    async def say(self, email: str, text: str) -> Outcome:
        self._n += 1
        before = len([c for c in self.fake.calls if c.method in REPLIES])
        status, _, _ = await self.env.command(SLACK_USERS[email], "/deskhand", text,
                                              response=f"cmd{self._n}")
        assert status == 200
        call = await self._next(REPLIES, before)
        private = call.method == "chat.postEphemeral" or (
            call.method == "response_url" and call.args.get("response_type") != "in_channel")
        return slack_outcome(call.args, private, call.result.get("ts", ""))

    async def click(self, email: str, message: Outcome, button: Shown) -> Outcome:
        self._n += 1
        before = len(self.fake.called("chat.update"))
        status, _, _ = await self.env.send(self.env.action_body(
            SLACK_USERS[email], button.raw["action_id"], button.raw.get("value", ""), ts=message.ref,
            response=f"act{self._n}"))
        assert status == 200
        update = await self._next(("chat.update",), before)
        assert (update.args["channel"], update.args["ts"]) == (slack.CHANNEL, message.ref)
        assert update.result.get("ok"), update.result
        assert self.fake.messages[(slack.CHANNEL, message.ref)]["text"] == update.args["text"]
        return slack_outcome(update.args, False, message.ref)


# -- Teams -------------------------------------------------------------------------------------

TEAMS_USERS = {u.email: u for u in (teams.ALEX, teams.NINA) if u.email}
PERSONAL = {teams.ALEX.mri: teams.load("installation_update_add")["conversation"]["id"],
            teams.NINA.mri: "a:1NinaNewPersonalChat0123456789personal"}
CHANNEL_MESSAGE = teams.load("message_channel_mention")
THREAD = CHANNEL_MESSAGE["conversation"]["id"]


def teams_outcome(card: dict[str, Any], private: bool, ref: str) -> Outcome:
    validator = teams.card_validator()
    if validator is not None:
        assert teams.card_errors(card, validator) == []
    buttons: list[Shown] = []
    for action in (a for el in card["body"] if el["type"] == "ActionSet" for a in el["actions"]):
        if action["type"] == "Action.ShowCard":  # a confirm step: the real button is inside
            inner = action["card"]["actions"][0]
            buttons.append(Shown(action["title"], inner["verb"], inner["title"], inner))
        else:
            buttons.append(Shown(action["title"], action.get("verb") or action.get("url", ""), None,
                                 action))
    return Outcome(card["body"][0]["text"], plain(card["fallbackText"]), tuple(buttons), private,
                   ref, card)


class TeamsDriver:
    """Commands are typed in a channel; private answers go to the person's 1:1 chat with the bot."""

    platform = "teams"

    def __init__(self, fake: teams.FakeBotFramework, base_url: str) -> None:
        self.fake, self.base_url = fake, base_url

    async def install(self) -> None:
        for user in TEAMS_USERS.values():
            self.fake.add_user(user)
            activity = self.fake.activity("installation_update_add", user)
            activity["conversation"]["id"] = PERSONAL[user.mri]
            status, _ = await self.fake.send(self.base_url, activity)
            assert status == 201

    async def say(self, email: str, text: str) -> Outcome:
        before = len(self.fake.posted())
        activity = self.fake.activity("message_channel_mention", TEAMS_USERS[email],
                                      text=f"<at>deskhand</at> {text}")
        status, _ = await self.fake.send(self.base_url, activity)
        assert status == 201
        posted = await self.fake.wait_for("send", "reply", count=before + 1)
        assert len(posted) > before, f"no Teams reply to {text!r}"
        call = posted[before]
        assert call.authorized and call.conversation in (THREAD, PERSONAL[TEAMS_USERS[email].mri])
        return teams_outcome(call.cards[0], call.conversation != THREAD, call.response_id)

    async def click(self, email: str, message: Outcome, button: Shown) -> Outcome:
        before = len(self.fake.called("update"))
        invoke = self.fake.activity("invoke_action_execute", TEAMS_USERS[email], replyToId=message.ref,
                                    conversation=CHANNEL_MESSAGE["conversation"],
                                    channelData=CHANNEL_MESSAGE["channelData"])
        invoke["value"]["action"].update(title=button.raw["title"], verb=button.raw["verb"],
                                         data=button.raw["data"])
        status, body = await self.fake.send(self.base_url, invoke)
        assert status == 200 and body["type"] == teams.CARD, body
        # The invoke answer is the clicker's view; update_activity replaces it for everyone else.
        updates = await self.fake.wait_for("update", count=before + 1)
        assert len(updates) > before, "the card was not replaced with update_activity"
        update = updates[before]
        assert (update.conversation, update.activity_id) == (THREAD, message.ref)
        assert update.cards == [body["value"]]
        return teams_outcome(body["value"], message.private, message.ref)
