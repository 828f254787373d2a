"""The requester is told of every decision where they asked, and `approvals` offers Approve and
Deny on the waiting requests: the cards in the approvers' channel are easy to lose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from storage.workflow import ApprovalRequest
from tests.handlers.test_approvals import audit
from tests.workflows.env import (
    ALEX,
    AVERY,
    PAT,
    SAM,
    Env,
    card_state,
    click,
    console,
    devices_in,
    instruction_env,
    next_where,
    title_has,
)

RESTART = "run RestartService serviceName=Spooler on {} for INC0000042"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path) as e:
        yield e


def private_titled(text: str) -> Any:
    return lambda m: m["private"] and text in m["card"]["title"]


async def test_the_requester_is_told_privately_of_an_approval_and_a_denial(env: Env) -> None:
    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        first = await avery.say(RESTART.format("PC-0001"))
        ask = await next_where(pat, title_has("Approval needed"))
        await click(pat, ask, "Approve")
        [run] = await env.runs()
        told = await next_where(avery, private_titled(f"Your run {run.id} was approved"))
        assert f"{PAT} approved your run {run.id}" in told["card"]["fallback"]
        assert "It goes to 1E now." in told["card"]["fallback"]
        await next_where(avery, card_state(first["id"], "completed"))

        await avery.say(RESTART.format("PC-0001"))
        ask = await next_where(pat, title_has("Approval needed"))
        await click(pat, ask, "Deny", {"reason": "not during business hours"})
        second = (await env.runs())[-1]
        told = await next_where(avery, private_titled(f"Your run {second.id} was denied"))
        assert "Reason: not during business hours" in told["card"]["fallback"]
        assert told["card"]["tone"] == "attention"


async def test_the_requester_is_told_when_nobody_decided_in_time(env: Env) -> None:
    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        await avery.say(RESTART.format("PC-0001"))
        await next_where(pat, title_has("Approval needed"))
        async with env.rt.db.uow() as uow:
            await uow.session.execute(update(ApprovalRequest).values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await uow.commit()
        [run] = await env.runs()
        told = await next_where(avery, private_titled(f"Your run {run.id} expired"), seconds=20)
        assert "Ask again if it is still needed" in told["card"]["fallback"]


async def test_approvals_lists_waiting_requests_with_approve_and_deny(env: Env) -> None:
    async with console(env.live, ALEX) as alex, console(env.live, PAT) as pat:
        await alex.say(RESTART.format("PC-0001"))
        await next_where(pat, title_has("Approval needed"))
        await alex.ws.send_json({"type": "command", "text": "approvals"})
        own = await next_where(alex, private_titled("Requests waiting for approval"))
        assert "None of these is yours to decide" in own["card"]["fallback"]  # Alex asked for it
        listing = await pat.say("approvals")
        assert listing["card"]["title"] == "Requests waiting for approval"
        assert "follow, with Approve and Deny" in listing["card"]["fallback"]
        offered = await next_where(pat, lambda m: m["private"] and "Approval needed" in m["card"]["title"])
        assert [b["label"] for b in offered["card"]["buttons"]] == ["Approve", "Deny"]
        await click(pat, offered, "Approve", {"reason": "from the list"})
        decided = await next_where(pat, private_titled("approved"))
        assert decided["card"]["title"].startswith("Run ")
    [run] = await env.runs()
    request = await env.request(run.id)
    assert (request.state, request.decided_by_email, request.reason) == ("approved", PAT, "from the list")


async def test_approvals_offers_no_card_for_a_request_outside_the_readers_scope(env: Env) -> None:
    async with env.rt.db.uow() as uow:
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Approver", email=SAM,
                               scope=Scope(device_groups=["Singapore"]))
        await uow.commit()
    [london] = await devices_in(env.live, "London")
    async with console(env.live, AVERY) as avery, console(env.live, SAM) as sam:
        await avery.say(RESTART.format(london))
        await sam.ws.send_json({"type": "command", "text": "approvals"})
        listing = await next_where(sam, private_titled("Requests waiting for approval"))
        assert "None of these is yours to decide" in listing["card"]["fallback"]
        assert london in listing["card"]["fallback"]  # listed, without its buttons
    denials = [e for e in await audit(env, "denial", "instruction.approve") if e.actor_email == SAM]
    assert denials == []  # asking whether Sam may decide records nothing
