"""The console adapter end to end over a real WebSocket: help, a command, a click, a denial."""

from __future__ import annotations

import aiohttp

from tests.bot.platforms._drivers import ConsoleClient, persona_id
from tests.conftest import LiveServer

__all__ = ["ConsoleClient", "persona_id"]  # other tests import them from here


async def test_console_help_command_click_and_denial(server: LiveServer) -> None:
    admin = await persona_id(server, "alex.admin@example.com")
    async with aiohttp.ClientSession() as s, s.ws_connect(
            f"{server.url}/console/ws?persona={admin}") as ws:
        client = ConsoleClient(ws)
        assert (await client.next("hello"))["persona"] == "alex.admin@example.com"
        help_card = (await client.say("help"))["card"]
        listed = next(s for s in help_card["sections"] if s["type"] == "table")["rows"]
        assert any(row[0].startswith("role grant") for row in listed)  # the fallback is cut short
        devices = (await client.say("devices"))
        table = next(s for s in devices["card"]["sections"] if s["type"] == "table")
        assert len(table["rows"]) == 10 and table["more"]
        first_page_last = table["rows"][-1][0]
        await client.click(devices, table["more"])
        updated = await client.next("update")
        assert updated["id"] == devices["id"]
        rows = next(s for s in updated["card"]["sections"] if s["type"] == "table")["rows"]
        assert rows[0][0] > first_page_last

    nina = await persona_id(server, "nina.new@example.com")
    async with aiohttp.ClientSession() as s, s.ws_connect(
            f"{server.url}/console/ws?persona={nina}") as ws:
        client = ConsoleClient(ws)
        await client.next("hello")
        denied = (await client.say("devices"))["card"]
        assert denied["title"] == "Not allowed"
        assert "device.read" in denied["fallback"]
