"""`remote` end to end: console WebSocket -> router -> TeamViewer client -> simulator (loopback)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from integrations.http import RetryPolicy
from integrations.simulator_kit import serve
from integrations.teamviewer.client import POLICY
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.audit import AuditEvent
from storage.devices import Device, DeviceRepo, ManagementGroup
from storage.remote import RemoteSession
from tests.bot.test_smoke_console import ConsoleClient, persona_id
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server

TOKEN = "1234567-ScriptTokenForTests01"
CLIENT_ID, CLIENT_SECRET = "deskhand-test-app", "app-secret-0123456789abcdef"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
ALEX, RILEY = "alex.admin@example.com", "riley.remote@example.com"
SAM = "sam.standard@example.com"


@asynccontextmanager
async def remote_server(tmp_path: Path, *, oauth: bool = False,
                        **extra: Any) -> AsyncIterator[tuple[LiveServer, TeamViewerSimulator]]:
    """deskhand on a loopback port, its TeamViewer client aimed at a simulator on another."""
    sim = TeamViewerSimulator(script_tokens=(TOKEN,), clients={CLIENT_ID: CLIENT_SECRET})
    sim_runner, sim_url = await serve(sim)
    port = free_port()
    settings: dict[str, Any] = {
        "port": port, "public_url": f"http://127.0.0.1:{port}",
        "teamviewer_url": f"{sim_url}/api/v1/", "teamviewer_authorize_url": f"{sim_url}/oauth2/authorize"}
    if oauth:
        settings.update(teamviewer_client_id=CLIENT_ID, teamviewer_client_secret=CLIENT_SECRET)
    else:
        settings["teamviewer_api_token"] = TOKEN
    settings.update(extra)
    runner, live = await start_server(make_settings(sqlite_url(tmp_path), **settings))
    try:
        async with live.runtime.db.uow() as uow:
            rows = await uow.repo(DeviceRepo).page(live.runtime.tenant_id, query=None, group_ids=None,
                                                   after=None, limit=1000)
        sim.seed_devices([(d.name, bool(d.attributes.get("teamviewer_full_client"))) for d, _ in rows])
        # The real TeamViewer class, with short backoffs so retry tests stay quick.
        live.runtime.tenant_clients.tune("teamviewer", policy=FAST)
        yield live, sim
    finally:
        await runner.cleanup()
        await sim_runner.cleanup()


@asynccontextmanager
async def console(live: LiveServer, email: str) -> AsyncIterator[ConsoleClient]:
    pid = await persona_id(live, email)
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{live.url}/console/ws?persona={pid}") as ws:
        client = ConsoleClient(ws)
        await client.next("hello")
        yield client


async def device_in(live: LiveServer, group: str, *, full_client: bool = True) -> str:
    async with live.runtime.db.uow() as uow:
        q = (select(Device).join(ManagementGroup, ManagementGroup.id == Device.management_group_id)
             .where(ManagementGroup.name == group).order_by(Device.name))
        rows = (await uow.session.execute(q)).scalars().all()
    return next(d.name for d in rows if bool(d.attributes.get("teamviewer_full_client")) == full_client)


async def sessions_of(live: LiveServer, device: str) -> Sequence[RemoteSession]:
    async with live.runtime.db.uow() as uow:
        q = select(RemoteSession).where(RemoteSession.device_name == device).order_by(RemoteSession.id)
        return (await uow.session.execute(q)).scalars().all()


async def audit_rows(live: LiveServer, action: str) -> Sequence[AuditEvent]:
    async with live.runtime.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return (await uow.session.execute(q)).scalars().all()


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    return next(b for b in message["card"]["buttons"] if b["label"] == label)


def field(message: dict[str, Any], label: str) -> str:
    for section in message["card"]["sections"]:
        for item in section.get("items", []):
            if item["label"] == label:
                return str(item["value"])
    raise KeyError(label)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[LiveServer, TeamViewerSimulator]]:
    async with remote_server(tmp_path) as pair:
        yield pair


async def test_happy_path_private_card_open_row_and_audit(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "New York")
    async with console(server, ALEX) as alex, console(server, RILEY) as riley:
        message = await alex.say(f'remote {device} for INC0012345 note="printer jams"')
        assert message["private"] is True and message["card"]["title"] == f"Remote session on {device}"
        code = field(message, "Session code")
        tv = sim.sessions[code]
        assert button(message, "Open in browser")["url"] == tv["webclient_supporter_link"]
        assert button(message, "Open in TeamViewer")["url"] == tv["supporter_link"]
        assert tv["end_customer_link"] in message["card"]["fallback"]
        assert f"`{code}`" in message["card"]["fallback"]
        for fact in (device, ALEX, "INC0012345", "printer jams"):
            assert fact in tv["description"]
        with pytest.raises(asyncio.TimeoutError):  # the card went to Alex only
            await asyncio.wait_for(riley.next(), 0.3)
    [row] = await sessions_of(server, device)
    assert (row.state, row.code, row.ticket, row.requester_email) == ("open", code, "INC0012345", ALEX)
    [created] = await audit_rows(server, "teamviewer.session.create")
    assert created.outcome == "ok" and created.target == device and created.params["session"] == code
    [command] = await audit_rows(server, "remote")
    assert command.outcome == "ok" and command.actor_email == ALEX and command.params["session"] == code


async def test_unknown_device_gets_suggestions(live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    async with console(server, ALEX) as alex:
        card = (await alex.say("remote PC-0042x"))["card"]
    assert card["title"] == "Device not found" and "Did you mean" in card["fallback"]
    assert sim.hits["POST /api/v1/sessions"] == 0


async def test_missing_full_client_gives_the_quicksupport_route(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, _ = live
    bare = await device_in(server, "London", full_client=False)
    full = await device_in(server, "London", full_client=True)
    async with console(server, ALEX) as alex:
        without = (await alex.say(f"remote {bare}"))["card"]["fallback"]
        with_client = (await alex.say(f"remote {full}"))["card"]["fallback"]
    assert "does not have the TeamViewer full client" in without
    assert "QuickSupport" in without and "without installation or admin rights" in without
    assert "QuickSupport" not in with_client
    assert [r.full_client for r in await sessions_of(server, bare)] == [False]
    assert [r.full_client for r in await sessions_of(server, full)] == [True]


async def test_remote_support_outside_its_groups_is_denied_and_audited(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    outside, inside = await device_in(server, "New York"), await device_in(server, "London")
    async with console(server, RILEY) as riley:
        denied = (await riley.say(f"remote {outside}"))["card"]
        allowed = (await riley.say(f"remote {inside}"))["card"]
    assert denied["title"] == "Not allowed" and "out of scope" in denied["fallback"]
    assert allowed["title"] == f"Remote session on {inside}"
    assert await sessions_of(server, outside) == []
    [denial] = await audit_rows(server, "remote.session")
    assert (denial.kind, denial.outcome, denial.target, denial.actor_email) == (
        "denial", "denied", outside, RILEY)
    assert sim.hits["POST /api/v1/sessions"] == 1


async def test_500_after_retries_leaves_no_open_row(live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    sim.switches.fail_next, sim.switches.fail_status = 100, 500
    sim.switches.fail_path = "POST /api/v1/sessions"
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        card = (await alex.say(f"remote {device}"))["card"]
    assert card["title"] == "TeamViewer did not start a session"
    assert "HTTP 500" in card["fallback"] and "4 tries" in card["fallback"]
    [row] = await sessions_of(server, device)
    assert row.state == "failed" and row.code is None
    assert f"ref {row.correlation_id}" in card["fallback"]
    assert sim.hits["POST /api/v1/sessions"] == 4 and sim.open_sessions() == []
    [failed] = await audit_rows(server, "teamviewer.session.create")
    assert failed.outcome == "failed" and failed.correlation_id == row.correlation_id


async def test_429_is_honoured_end_to_end(live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    sim.switches.rate_limit_next, sim.switches.retry_after = 1, 1
    device = await device_in(server, "Singapore")
    async with console(server, ALEX) as alex:
        started = time.perf_counter()
        card = (await alex.say(f"remote {device}"))["card"]
        elapsed = time.perf_counter() - started
    assert card["title"] == f"Remote session on {device}" and elapsed >= 1.0
    assert [r.state for r in await sessions_of(server, device)] == ["open"]


async def test_refresh_and_close_buttons_recheck_on_the_server(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "New York")
    async with console(server, ALEX) as alex, console(server, RILEY) as riley:
        message = await alex.say(f"remote {device}")
        code = field(message, "Session code")
        await alex.click(message, button(message, "Refresh status"))
        refreshed = await alex.next("update")
        assert "TeamViewer says open" in refreshed["card"]["fallback"]
        # Riley (London only) replays Alex's button: the row's device decides, not the button.
        await riley.click(message, button(message, "Close session"))
        assert (await riley.next())["card"]["title"] == "Not allowed"
        assert sim.sessions[code]["state"] == "Open"
        await alex.click(message, button(message, "Close session"))
        closed = await alex.next("update")
        assert closed["card"]["title"] == f"Remote session on {device}: closed"
        assert closed["card"]["buttons"] == []
        await alex.click(message, button(message, "Close session"))  # a stale second click
        assert (await alex.next("update"))["card"]["title"].endswith(": closed")
    assert sim.sessions[code]["state"] == "Closed"
    assert f"closed by {ALEX}" in sim.sessions[code]["description"]
    assert sim.hits["PUT /api/v1/sessions/{code}"] == 1
    [row] = await sessions_of(server, device)
    assert (row.state, row.closed_by, row.end_state) == ("closed", ALEX, f"closed by {ALEX}")
    [closed_event] = await audit_rows(server, "teamviewer.session.close")
    assert closed_event.params == {"session": code, "end_state": f"closed by {ALEX}"}


async def test_a_colleague_cannot_refresh_see_or_close_a_session_they_did_not_start(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    """Sam holds Remote Support over London as Riley does; Riley's session stays Riley's: its
    links, its refresh and its end. Alex holds remote.manage (Full Administrator) and may."""
    server, sim = live
    async with server.runtime.db.uow() as uow:
        await rbac_admin.grant(uow, server.runtime.tenant_id, Granter("test"), "Remote Support",
                               email=SAM, scope=Scope(device_groups=["London"]))
        await uow.commit()
    device = await device_in(server, "London")
    async with console(server, RILEY) as riley, console(server, SAM) as sam, \
            console(server, ALEX) as alex:
        message = await riley.say(f"remote {device}")
        code = field(message, "Session code")
        for label in ("Refresh status", "Close session"):  # Riley's card's buttons, pressed by Sam
            await sam.click(message, button(message, label))
            refused = await sam.next()
            assert refused["card"]["title"] == "Not allowed" and refused["private"]
            assert "remote.manage" in refused["card"]["fallback"]
            assert sim.sessions[code]["supporter_link"] not in str(refused)
        refused = await sam.say(f"remote close {code}")
        assert refused["card"]["title"] == "Not allowed"
        assert sim.sessions[code]["state"] == "Open"
        closed = await alex.say(f"remote close {code}")  # an administrator may
        assert closed["card"]["title"] == f"Remote session on {device}: closed"
    assert sim.sessions[code]["state"] == "Closed"
    denials = [e for e in await audit_rows(server, "remote.manage") if e.kind == "denial"]
    assert [e.actor_email for e in denials] == [SAM, SAM, SAM]


async def test_list_close_by_code_and_closed_elsewhere(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    first, second = await device_in(server, "London"), await device_in(server, "Singapore")
    async with console(server, ALEX) as alex:
        one = field(await alex.say(f"remote {first}"), "Session code")
        two_message = await alex.say(f"remote {second}")
        two = field(two_message, "Session code")
        listing = (await alex.say("remote list"))["card"]["fallback"]
        assert one in listing and two in listing
        closed = (await alex.say(f"remote close {one.replace('-', '')}"))["card"]
        assert closed["title"].endswith(": closed")
        listing = (await alex.say("remote list"))["card"]["fallback"]
        assert one not in listing and two in listing
        sim.sessions[two]["state"] = "Closed"  # ended on the TeamViewer side
        await alex.click(two_message, button(two_message, "Refresh status"))
        assert "closed in TeamViewer" in (await alex.next("update"))["card"]["fallback"]
        bad = (await alex.say("remote close 12345"))["card"]
        assert bad["title"] == "Check the command" and "s12-345-678" in bad["fallback"]
        unknown = (await alex.say("remote close s99-999-999"))["card"]
        assert unknown["title"] == "Unknown session"


async def test_licence_limit_and_bad_for_are_explained(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    sim.switches.max_open_sessions = 0
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        card = (await alex.say(f"remote {device}"))["card"]
        assert "limit of concurrent sessions" in card["fallback"]
        usage = (await alex.say(f"remote {device} for someone"))["card"]
    assert usage["title"] == "Check the command" and "incident number" in usage["fallback"]
    assert [r.state for r in await sessions_of(server, device)] == ["failed"]


async def test_not_configured_is_a_clear_answer(server: LiveServer) -> None:
    async with console(server, ALEX) as alex:
        card = (await alex.say("remote PC-0001"))["card"]
        status = (await alex.say("teamviewer status"))["card"]
    assert card["title"] == "TeamViewer is not set up" and "DESKHAND_TEAMVIEWER_API_TOKEN" in card["fallback"]
    assert "not set up" in status["fallback"]


async def test_script_token_never_reaches_logs_or_chat(
        live: tuple[LiveServer, TeamViewerSimulator], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, sim = live
    seen: list[str] = []
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        seen.append(str(await alex.say("teamviewer status")))
        seen.append(str(await alex.say(f"remote {device}")))
        sim.switches.unauthorized_next = 10
        seen.append(str(await alex.say(f"remote {device}")))
    assert "valid" in seen[0] and "DESKHAND_TEAMVIEWER_API_TOKEN" in seen[2]
    assert all(TOKEN not in text for text in seen)
    assert TOKEN not in caplog.text
    async with server.runtime.db.uow() as uow:
        events = (await uow.session.execute(select(AuditEvent))).scalars().all()
    assert all(TOKEN not in f"{e.params} {e.detail}" for e in events)


async def test_closing_a_closed_session_says_so_and_the_note_is_shown(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        message = await alex.say(f'remote {device} note="printer jams"')
        assert field(message, "Note") == "printer jams"
        code = field(message, "Session code")
        first = (await alex.say(f"remote close {code}"))["card"]
        assert "already closed" not in first["fallback"]
        again = (await alex.say(f"remote close {code}"))["card"]
        assert again["title"].endswith(": closed")
        assert f"This session was already closed: closed by {ALEX}" in again["fallback"]
        await alex.click(message, button(message, "Close session"))
        clicked = await alex.next("update")
        assert "This session was already closed" in clicked["card"]["fallback"]
        assert field(clicked, "Note") == "printer jams"
    assert sim.hits["PUT /api/v1/sessions/{code}"] == 1


async def test_a_deactivated_persons_open_sessions_are_closed(
        live: tuple[LiveServer, TeamViewerSimulator]) -> None:
    """Their supporter links stop with their account (bot/people's deactivation)."""
    from bot import people

    server, sim = live
    device = await device_in(server, "London")
    async with console(server, RILEY) as riley:
        code = field(await riley.say(f"remote {device}"), "Session code")
    async with console(server, ALEX) as alex:  # someone else's session stays open
        other = field(await alex.say(f"remote {await device_in(server, 'New York')}"),
                      "Session code")
    await people.deactivate(server.runtime, server.runtime.tenant_id,
                            await persona_id(server, RILEY), by="scim")
    assert sim.sessions[code]["state"] == "Closed" and sim.sessions[other]["state"] == "Open"
    assert f"{RILEY} was deactivated" in sim.sessions[code]["description"]
    [row] = await sessions_of(server, device)
    assert (row.state, row.closed_by) == ("closed", "scim")
    [event] = await audit_rows(server, "teamviewer.session.close")
    assert event.outcome == "ok" and event.params["deactivated"] == RILEY
