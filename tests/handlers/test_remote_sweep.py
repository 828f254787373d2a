"""Sessions a crash left pending or closing are settled by the sweep, and their requester told.

Each test starts a real session through the console, then puts its row back where a crash
between two steps would have left it (the vendor call made, its outcome never stored).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.sweeps import sweep
from handlers.remote.sweep import SWEEP
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.remote import RemoteSession
from tests.conftest import LiveServer
from tests.handlers.test_remote import (
    ALEX,
    audit_rows,
    console,
    device_in,
    field,
    remote_server,
    sessions_of,
)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[LiveServer, TeamViewerSimulator]]:
    async with remote_server(tmp_path) as pair:
        yield pair


async def left_by_a_crash(server: LiveServer, row_id: int, state: str, minutes: float = 10) -> None:
    async with server.runtime.db.uow() as uow:
        await uow.session.execute(update(RemoteSession).where(RemoteSession.id == row_id).values(
            state=state, state_since=datetime.now(UTC) - timedelta(minutes=minutes)))
        await uow.commit()


async def started(server: LiveServer, alex: Any, device: str) -> tuple[RemoteSession, str]:
    code = field(await alex.say(f"remote {device}"), "Session code")
    [row] = await sessions_of(server, device)
    return row, code


async def test_pending_session_teamviewer_created_is_closed_there_failed_and_told(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "New York")
    async with console(server, ALEX) as alex:
        row, code = await started(server, alex, device)
        await left_by_a_crash(server, row.id, "pending")
        assert await sweep(server.runtime, SWEEP) == 1
        notice = await alex.next("message")
    assert notice["private"] is True
    assert notice["card"]["title"] == f"Your remote session on {device} did not start"
    assert f"({code}) was closed" in notice["card"]["fallback"]
    assert f"remote {device}" in notice["card"]["fallback"]
    assert sim.sessions[code]["state"] == "Closed"
    [after] = await sessions_of(server, device)
    assert (after.state, after.end_state) == ("failed", "interrupted before TeamViewer answered")
    [event] = await audit_rows(server, "teamviewer.session.sweep")
    assert (event.outcome, event.params["session"], event.params["requester"]) == ("failed", code, ALEX)
    assert await sweep(server.runtime, SWEEP) == 0  # settled once


async def test_pending_session_teamviewer_never_created_fails_with_nothing_left(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        row, code = await started(server, alex, device)
        del sim.sessions[code]  # the crash came before TeamViewer got the request
        await left_by_a_crash(server, row.id, "pending")
        await sweep(server.runtime, SWEEP)
        notice = await alex.next("message")
    assert "nothing is left open" in notice["card"]["fallback"]
    assert [r.state for r in await sessions_of(server, device)] == ["failed"]


async def test_closing_session_is_closed_in_teamviewer_and_recorded(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        row, code = await started(server, alex, device)
        await left_by_a_crash(server, row.id, "closing")
        await sweep(server.runtime, SWEEP)
        notice = await alex.next("message")
    assert notice["card"]["title"] == f"Your remote session on {device} is closed"
    assert sim.sessions[code]["state"] == "Closed"
    [after] = await sessions_of(server, device)
    assert (after.state, after.end_state) == ("closed", "closed in TeamViewer after an interruption")


async def test_young_rows_and_an_unreachable_teamviewer_leave_the_row_for_the_next_sweep(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        row, _ = await started(server, alex, device)
    await left_by_a_crash(server, row.id, "pending", minutes=1)  # younger than stuck_after (5 min)
    assert await sweep(server.runtime, SWEEP) == 0
    await left_by_a_crash(server, row.id, "pending", minutes=10)
    sim.switches.fail_next = 100  # TeamViewer answers 500 to every call
    await sweep(server.runtime, SWEEP)
    assert [r.state for r in await sessions_of(server, device)] == ["pending"]
    sim.switches.fail_next = 0
    await sweep(server.runtime, SWEEP)
    assert [r.state for r in await sessions_of(server, device)] == ["failed"]


async def test_a_session_teamviewer_creates_after_the_row_was_given_up_is_closed(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "London")
    sim.switches.latency = 1.5  # the sweep gives the row up while TeamViewer is thinking
    async with console(server, ALEX) as alex:
        await alex.ws.send_json({"type": "command", "text": f"remote {device}"})
        for _ in range(200):
            if await sessions_of(server, device):
                break
            await asyncio.sleep(0.05)
        await left_by_a_crash(server, (await sessions_of(server, device))[0].id, "pending")
        sim.switches.latency = 0
        await sweep(server.runtime, SWEEP)
        messages = [await alex.next("message"), await alex.next("message")]
    titles = {m["card"]["title"] for m in messages}
    assert titles == {f"Your remote session on {device} did not start",
                      "TeamViewer did not start a session"}
    assert [s["state"] for s in sim.sessions.values()] == ["Closed"]
    assert [r.state for r in await sessions_of(server, device)] == ["failed"]
