"""`device wipe|enterprise-wipe` end to end through the console: typed confirmation, an
approver's decision, exactly one command at the Workspace ONE simulator (loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from integrations.workspace_one.models import WS1_PLATFORM, Platform
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.tenants import SettingsRepo
from storage.workflow import ApprovalRequest
from tests.conftest import LiveServer
from tests.handlers.test_remote import audit_rows
from tests.handlers.wipes_env import request_of, wipes, wipes_sent
from tests.handlers.ws1_env import device_in, inventory, owner_of, started
from tests.workflows.env import ALEX, AVERY, PAT, SAM, click, console, field, next_where, title_has

Live = tuple[LiveServer, WorkspaceOneSimulator]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with started(tmp_path) as pair:
        yield pair


async def each(client: Any, *matches: Callable[[dict[str, Any]], bool],
               seconds: float = 25) -> list[dict[str, Any]]:
    """One message for each match, in whatever order they come (the expiry job runs every 10 s)."""
    found: list[dict[str, Any] | None] = [None] * len(matches)
    while None in found:
        m = await next_where(client, lambda m: any(f is None and match(m) for f, match
                                                   in zip(found, matches, strict=True)), seconds)
        found[next(i for i, match in enumerate(matches) if found[i] is None and match(m))] = m
    return [f for f in found if f is not None]


def private(m: dict[str, Any]) -> bool:
    return bool(m["private"])


async def grant(live: LiveServer, role: str, email: str, groups: list[str] | None = None) -> None:
    async with live.runtime.db.uow() as uow:
        await rbac_admin.grant(uow, live.runtime.tenant_id, Granter("test"), role, email=email,
                               scope=Scope(device_groups=groups))
        await uow.commit()


async def confirmed(live: LiveServer, alex: Any, device: str, kind: str = "wipe") -> dict[str, Any]:
    """Alex asks and types the name: the confirmation card turns into his request card."""
    ask = await alex.say(f"device {kind} {device} for INC0012345")
    assert ask["card"]["title"].endswith(f"{device}?"), ask["card"]
    await click(alex, ask, "Request wipe", {"device_name": f"  {device.lower()} "})
    return await next_where(alex, lambda m: m["id"] == ask["id"] and "State" in str(m["card"]))


async def test_the_command_answers_the_typed_confirmation_card_and_stores_the_row(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        ask = await alex.say(f"device wipe {device}")
    card = ask["card"]
    assert ask["private"] and card["title"] == f"Wipe {device}?" and card["tone"] == "attention"
    assert "factory settings" in card["fallback"] and "cannot be recovered" in card["fallback"]
    [box] = [s for s in card["sections"] if s["type"] == "text_input"]
    assert box["id"] == "device_name" and box["label"] == "Type the device name to confirm"
    [row] = await wipes(server)
    [button] = card["buttons"]
    assert (button["label"], button["action_id"]) == ("Request wipe", f"device.wipe-confirm:{row.id}")
    assert device not in button["action_id"] + button["value"]  # the click names the row only
    assert (row.state, row.kind, row.device_name, row.requester_email) == (
        "confirming", "wipe", device, ALEX)
    assert row.ws1_id == next(d.id for d in sim.devices if d.name == device)
    assert wipes_sent(sim, device) == [] and await request_of(server, row) is None
    assert [r.outcome for r in await audit_rows(server, "ws1.wipe")] == ["requested"]


async def test_enterprise_wipe_says_what_it_removes(live: Live) -> None:
    server, _ = live
    device = await device_in(server, "London")
    owner = await owner_of(server, device)
    async with console(server, ALEX) as alex:
        ask = await alex.say(f"device enterprise-wipe {device} for {owner}")
        other = await alex.say(f"device enterprise-wipe {device} for ann@example.com")
    assert ask["card"]["title"] == f"Enterprise wipe {device}?"
    assert "removes corporate data and management" in ask["card"]["fallback"]
    assert field(ask, "For") == owner
    # Email validation comes before anyone is asked to confirm: a stranger's email stops it here.
    assert other["card"]["title"] == "Not the device's user"
    assert "nothing was sent" in other["card"]["fallback"]


async def test_a_name_that_does_not_match_is_refused_and_the_row_stays(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        ask = await alex.say(f"device wipe {device}")
        await click(alex, ask, "Request wipe", {"device_name": "PC-9999"})
        refused = await next_where(alex, private)
        await click(alex, ask, "Request wipe", {"device_name": "   "})
        empty = await next_where(alex, private)
    assert refused["card"]["title"] == "The name does not match"
    assert "You typed `PC-9999`" in refused["card"]["fallback"] and device in refused["card"]["fallback"]
    assert empty["card"]["title"] == "The name does not match"
    [row] = await wipes(server)
    assert row.state == "confirming" and row.confirmed_at is None
    assert await request_of(server, row) is None and wipes_sent(sim, device) == []
    assert [r.outcome for r in await audit_rows(server, "ws1.wipe")] == ["requested", "refused",
                                                                         "refused"]
    async with console(server, ALEX) as alex:  # the same card still works with the right name
        await click(alex, ask, "Request wipe", {"device_name": device.upper()})
        mine = await next_where(alex, lambda m: m["id"] == ask["id"])
    assert field(mine, "State") == "waiting for approval"


async def test_only_the_requester_may_confirm(live: Live) -> None:
    server, sim = live
    await grant(server, "Endpoint Advanced", SAM, ["London"])  # Sam may wipe London devices
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex, console(server, SAM) as sam:
        ask = await alex.say(f"device wipe {device}")
        await click(sam, ask, "Request wipe", {"device_name": device})
        refused = await next_where(sam, private)
    assert refused["card"]["title"] == "Not allowed"
    assert f"Only {ALEX}, who asked for wipe" in refused["card"]["fallback"]
    [row] = await wipes(server)
    assert row.state == "confirming" and wipes_sent(sim, device) == []


async def test_approved_wipe_is_sent_once_noted_audited_and_every_copy_updated(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex, console(server, PAT) as pat:
        mine = await confirmed(server, alex, device)
        assert field(mine, "State") == "waiting for approval" and mine["card"]["buttons"] == []
        ask = await next_where(pat, title_has("Approval needed"))
        assert ask["card"]["title"] == f"Approval needed: Wipe {device}"
        assert [b["label"] for b in ask["card"]["buttons"]] == ["Approve", "Deny"]
        assert "always need an approver" in ask["card"]["fallback"]
        assert wipes_sent(sim, device) == []  # nothing before the decision
        await click(pat, ask, "Approve", {"reason": "laptop stolen"})
        said = await next_where(pat, private)
        assert said["card"]["title"].endswith("approved") and "Workspace ONE gets" in said["card"]["fallback"]
        done = await next_where(alex, lambda m: m["id"] == mine["id"] and field(m, "State") ==
                                "sent to Workspace ONE")  # every copy is redrawn, then he is told
        assert done["card"]["tone"] == "good"
        told = await next_where(alex, title_has("Wipe sent"))
        assert told["private"] and "A note was added" in told["card"]["fallback"]
        decided = await next_where(pat, lambda m: m["id"] == ask["id"] and not m["card"]["buttons"]
                                   and field(m, "State") == "sent to Workspace ONE")
        assert f"approved by {PAT}: laptop stolen" in field(decided, "Approval")
    assert wipes_sent(sim, device) == ["DeviceWipe"]
    [note] = [s.body["Note"] for s in sim.sent_to(device, "Note")]
    assert f"Wipe by {ALEX}" in note and "for INC0012345" in note and f"approved by {PAT}" in note
    [row] = await wipes(server)
    assert (row.state, row.decided_by, row.error) == ("sent", PAT, "")
    assert row.sent_at is not None and row.confirmed_at is not None
    rows = await audit_rows(server, "ws1.wipe")
    assert [(r.kind, r.outcome) for r in rows] == [
        ("decision", "requested"), ("decision", "confirmed"), ("decision", "approved"),
        ("external", "ok")]
    assert rows[-1].correlation_id == row.correlation_id


@pytest.mark.parametrize("ending", ["deny", "expire"])
async def test_denied_or_expired_wipes_send_nothing(live: Live, ending: str) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex, console(server, PAT) as pat:
        mine = await confirmed(server, alex, device)
        ask = await next_where(pat, title_has("Approval needed"))
        state = "denied" if ending == "deny" else "expired"
        if ending == "deny":
            await click(pat, ask, "Deny", {"reason": "ask the owner first"})
        else:
            async with server.runtime.db.uow() as uow:  # as if approval_expiry_minutes had passed
                await uow.session.execute(update(ApprovalRequest).values(
                    expires_at=datetime.now(UTC) - timedelta(seconds=1)))
                await uow.commit()
        told, _ = await each(alex, title_has(f"was {state}" if ending == "deny" else state),
                             lambda m: m["id"] == mine["id"] and field(m, "State") == state)
        assert told["private"]
        if ending == "deny":
            assert "ask the owner first" in told["card"]["fallback"]
    [row] = await wipes(server)
    assert row.state == state and wipes_sent(sim, device) == [] and sim.sent_to(device) == []


async def test_the_requester_never_approves_their_own_wipe(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex:
        first = await alex.say(f"device wipe {device}")
        await click(alex, first, "Request wipe", {"device_name": device})
        # He sees the console room's approvers' copy too, and his own card change.
        ask, _ = await each(alex, title_has("Approval needed"), lambda m: m["id"] == first["id"])
        await click(alex, ask, "Approve")
        refused = await next_where(alex, private)
    assert refused["card"]["title"] == "Not allowed"
    assert "someone else must decide" in refused["card"]["fallback"]
    [row] = await wipes(server)
    assert row.state == "awaiting_approval" and wipes_sent(sim, device) == []
    request = await request_of(server, row)
    assert request is not None and request.state == "pending"


async def test_a_decider_without_the_device_in_scope_is_refused(live: Live) -> None:
    server, sim = live
    await grant(server, "Approver", AVERY, ["London"])
    device = await device_in(server, "Singapore")
    async with console(server, ALEX) as alex, console(server, AVERY) as avery:
        await confirmed(server, alex, device)
        ask = await next_where(avery, title_has("Approval needed"))
        await click(avery, ask, "Approve")
        refused = await next_where(avery, private)
    assert refused["card"]["title"] == "Not allowed" and "Singapore" in refused["card"]["fallback"]
    [row] = await wipes(server)
    assert row.state == "awaiting_approval" and wipes_sent(sim, device) == []
    denials = [r for r in await audit_rows(server, "device.wipe.approve") if r.kind == "denial"]
    assert [(d.actor_email, d.target) for d in denials] == [(AVERY, device)]


async def test_fifty_concurrent_approvals_send_one_wipe(tmp_path: Path, db_url: str) -> None:
    async with started(tmp_path, url=db_url) as (server, sim):
        await grant(server, "Approver", AVERY)
        device = await device_in(server, "London")
        async with console(server, ALEX) as alex, console(server, PAT) as one, \
                console(server, AVERY) as two:
            await confirmed(server, alex, device)
            ask = await next_where(one, title_has("Approval needed"))
            b = next(x for x in ask["card"]["buttons"] if x["label"] == "Approve")
            message = {"type": "action", "message_id": ask["id"], "action_id": b["action_id"],
                       "value": b["value"], "inputs": {"reason": "race"}}
            await asyncio.gather(*(s.ws.send_json(message) for _ in range(25) for s in (one, two)))
            titles = [(await next_where(s, private))["card"]["title"]
                      for s in (one, two) for _ in range(25)]
            await next_where(alex, title_has("Wipe sent"))
        [row] = await wipes(server)
        assert titles.count(f"Wipe {row.id} approved") == 1
        assert set(titles) == {f"Wipe {row.id} approved", "Already decided"}
        assert row.state == "sent" and wipes_sent(sim, device) == ["DeviceWipe"]
        assert [r.outcome for r in await audit_rows(server, "ws1.wipe")
                if r.kind == "external"] == ["ok"]


async def test_a_platform_the_wipe_does_not_apply_to_is_refused_with_the_ones_it_does(
        live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    box = next(d for d in sim.devices if d.name == device)
    box.platform, box.platform_name = Platform.LINUX, WS1_PLATFORM[Platform.LINUX]
    async with console(server, ALEX) as alex:
        refused = await alex.say(f"device wipe {device}")
        allowed = await alex.say(f"device enterprise-wipe {device}")
    assert refused["card"]["title"] == "Not available on this device"
    assert "a Linux device. It applies to Android, iOS, macOS, Windows devices" in refused["card"]["fallback"]
    assert allowed["card"]["title"] == f"Enterprise wipe {device}?"
    assert [r.kind for r in await wipes(server)] == ["enterprise-wipe"]


async def test_endpoint_standard_may_not_wipe(live: Live) -> None:
    server, _ = live
    device = await device_in(server, "London")
    async with console(server, SAM) as sam:
        denied = await sam.say(f"device wipe {device}")
    assert denied["card"]["title"] == "Not allowed" and await wipes(server) == []


async def test_the_device_cards_wipe_button_answers_the_same_confirmation(live: Live) -> None:
    server, _ = live
    device = await device_in(server, "London")
    device_id = (await inventory(server, device)).id
    async with console(server, ALEX) as alex:
        await alex.ws.send_json({"type": "action", "message_id": "none", "value": "",
                                 "action_id": f"device.wipe-ask:enterprise-wipe:{device_id}"})
        ask = await next_where(alex, private)
        await alex.ws.send_json({"type": "action", "message_id": "none", "value": "",
                                 "action_id": "device.wipe-ask:format:1"})
        damaged = await next_where(alex, private)
    assert ask["card"]["title"] == f"Enterprise wipe {device}?"
    assert [b["label"] for b in ask["card"]["buttons"]] == ["Request wipe"]
    assert "damaged" in damaged["card"]["fallback"]


async def test_a_wipe_waits_for_approval_even_where_approval_is_turned_off(tmp_path: Path) -> None:
    async with started(tmp_path) as (server, sim):
        async with server.runtime.db.uow() as uow:
            settings = uow.repo(SettingsRepo)
            values = await settings.get(server.runtime.tenant_id)
            await settings.put(server.runtime.tenant_id, {**values, "enable_approval": False}, "test")
            await uow.commit()
        device = await device_in(server, "London")
        async with console(server, ALEX) as alex:
            mine = await confirmed(server, alex, device)
        assert field(mine, "State") == "waiting for approval"
        [row] = await wipes(server)
        request = await request_of(server, row)
        assert row.state == "awaiting_approval" and request is not None and request.state == "pending"
        assert wipes_sent(sim, device) == []
