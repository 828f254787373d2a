"""Sending a wipe and what a crash leaves: a refusal keeps Workspace ONE's words; a row left
`sending` becomes `unknown` and is never sent again; one approved but never claimed is sent
once while its approval is fresh, else ends failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.sweeps import sweep
from handlers.device_actions.wipe_send import SWEEP, send
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.device_wipes import DeviceWipe
from tests.conftest import LiveServer
from tests.handlers.test_remote import audit_rows
from tests.handlers.wipes_env import wipes, wipes_sent
from tests.handlers.ws1_env import device_in, started
from tests.workflows.env import ALEX, click, console, next_where, title_has

Live = tuple[LiveServer, WorkspaceOneSimulator]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with started(tmp_path) as pair:
        yield pair


async def left_in(live: LiveServer, state: str, ago: timedelta) -> tuple[DeviceWipe, str]:
    """A confirmed wipe, then put where a process that died would have left it."""
    device = await device_in(live, "London")
    async with console(live, ALEX) as alex:
        ask = await alex.say(f"device wipe {device}")
        await click(alex, ask, "Request wipe", {"device_name": device})
        await next_where(alex, lambda m: m["id"] == ask["id"])
    async with live.runtime.db.uow() as uow:
        await uow.session.execute(update(DeviceWipe).values(
            state=state, state_since=datetime.now(UTC) - ago, decided_by="pat.approver@example.com"))
        await uow.commit()
    [row] = await wipes(live)
    return row, device


async def test_a_wipe_stuck_sending_becomes_unknown_and_is_never_resent(live: Live) -> None:
    server, sim = live
    row, device = await left_in(server, "sending", timedelta(minutes=10))
    async with console(server, ALEX) as alex:
        assert await sweep(server.runtime, SWEEP) == 1
        told = await next_where(alex, title_has("check Workspace ONE"))
    assert told["private"] and "never sent again automatically" in told["card"]["fallback"]
    [row] = await wipes(server)
    assert row.state == "unknown" and "Workspace ONE console" in row.error
    await send(server.runtime, row.tenant_id, row.id)  # a late decision or a replay finds nothing to send
    assert await sweep(server.runtime, SWEEP) == 0
    assert wipes_sent(sim, device) == [] and (await wipes(server))[0].state == "unknown"
    assert [(r.kind, r.outcome) for r in await audit_rows(server, "ws1.wipe")][-1] == (
        "external", "unknown")


async def test_a_wipe_sending_right_now_is_left_alone(live: Live) -> None:
    server, sim = live
    _, device = await left_in(server, "sending", timedelta(seconds=5))
    assert await sweep(server.runtime, SWEEP) == 0
    assert (await wipes(server))[0].state == "sending" and wipes_sent(sim, device) == []


async def test_an_approved_wipe_nobody_claimed_is_sent_once(live: Live) -> None:
    server, sim = live
    _, device = await left_in(server, "approved", timedelta(minutes=10))
    assert await sweep(server.runtime, SWEEP) == 1
    assert await sweep(server.runtime, SWEEP) == 0
    [row] = await wipes(server)
    assert row.state == "sent" and wipes_sent(sim, device) == ["DeviceWipe"]


async def test_an_id_that_names_another_device_now_is_not_wiped(live: Live) -> None:
    """The tenant's Workspace ONE changed between the request and the send: the stored id now
    names a different device, so nothing is sent."""
    server, sim = live
    row, _ = await left_in(server, "approved", timedelta(minutes=10))
    other = next(d for d in sim.devices if d.id == row.ws1_id)
    other.name, other.serial = "SOMEONE-ELSES-PC", "SN-OTHER-0001"
    assert await sweep(server.runtime, SWEEP) == 1
    [after] = await wipes(server)
    assert after.state == "failed" and "no longer names" in (after.error or "")
    assert [d.id for d in sim.devices if d.name == "SOMEONE-ELSES-PC"] == [row.ws1_id]
    assert not [s for s in sim.sent if s.device_id == row.ws1_id and s.kind == "DeviceWipe"]


async def test_an_approved_wipe_too_old_to_act_on_ends_failed_unsent(live: Live) -> None:
    server, sim = live
    _, device = await left_in(server, "approved", timedelta(hours=3))
    assert await sweep(server.runtime, SWEEP) == 1
    [row] = await wipes(server)
    assert row.state == "failed" and "nothing was sent" in row.error
    assert wipes_sent(sim, device) == []


@pytest.mark.parametrize(("status", "state"), [(403, "failed"), (500, "unknown")])
async def test_a_refused_or_unanswered_send_keeps_the_vendors_words_and_the_reference(
        live: Live, status: int, state: str) -> None:
    server, sim = live
    row, device = await left_in(server, "approved", timedelta(seconds=1))
    sim.switches.fail_next, sim.switches.fail_status, sim.switches.fail_path = 1, status, "/commands"
    async with console(server, ALEX) as alex:
        await send(server.runtime, row.tenant_id, row.id)
        told = await next_where(alex, title_has(device))
    [row] = await wipes(server)
    assert row.state == state and row.error and row.sent_at is None
    assert f"ref {row.correlation_id}" in told["card"]["fallback"] and row.error in told["card"]["fallback"]
    if state == "unknown":
        assert "may or may not have reached the device" in row.error
    assert wipes_sent(sim, device) == [] and sim.sent_to(device, "Note") == []
    [sent] = [r for r in await audit_rows(server, "ws1.wipe") if r.kind == "external"]
    assert (sent.outcome, sent.correlation_id) == (state, row.correlation_id)


async def test_an_unconfirmed_wipe_expires_and_its_old_card_is_refused(live: Live) -> None:
    """A wipe asked for and never confirmed: left alone while its card is fresh, expired by the
    sweep after 30 minutes; a confirmation on a card that old is refused and sends nothing."""
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        fresh = await alex.say(f"device wipe {device}")
        stale = await alex.say(f"device wipe {device}")
        async with server.runtime.db.uow() as uow:  # the second card was drawn 31 minutes ago
            await uow.session.execute(update(DeviceWipe).where(DeviceWipe.id == max(
                r.id for r in await wipes(server))).values(
                created_at=datetime.now(UTC) - timedelta(minutes=31)))
            await uow.commit()
        await click(alex, stale, "Request wipe", {"device_name": device})
        refused = await next_where(alex, title_has("Confirmation expired"))
    assert "more than 30 minutes old" in refused["card"]["fallback"]
    async with server.runtime.db.uow() as uow:  # the fresh one has waited 10 minutes
        await uow.session.execute(update(DeviceWipe).where(DeviceWipe.state == "confirming").values(
            state_since=datetime.now(UTC) - timedelta(minutes=10)))
        await uow.commit()
    await sweep(server.runtime, SWEEP)
    assert sorted(r.state for r in await wipes(server)) == ["confirming", "expired"]
    async with server.runtime.db.uow() as uow:
        await uow.session.execute(update(DeviceWipe).where(DeviceWipe.state == "confirming").values(
            state_since=datetime.now(UTC) - timedelta(minutes=31)))
        await uow.commit()
    await sweep(server.runtime, SWEEP)
    assert [r.state for r in await wipes(server)] == ["expired", "expired"]
    assert fresh["card"]["title"] == f"Wipe {device}?" and wipes_sent(sim, device) == []
