"""The poller against a misbehaving 1E: 5xx and 429 mid-run, a lost issue answer, a refusal,
and cancelling a run in flight. Every run must end once, with each response stored once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import rbac_admin
from bot.rbac_admin import Granter
from storage.audit import AuditEvent
from storage.instructions import InstructionResponse
from tests.workflows.env import (
    AVERY,
    SAM,
    Env,
    card_state,
    click,
    console,
    field,
    instruction_env,
    next_where,
    title_has,
)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path, answer_seconds=4, error_percent=10) as e:
        await e.settings(response_batch_size=10)
        yield e


async def stored(env: Env, run_id: int) -> list[tuple[bool, str, str]]:
    async with env.rt.db.uow() as uow:
        rows = (await uow.session.execute(select(InstructionResponse).where(
            InstructionResponse.run_id == run_id))).scalars().all()
    return [(r.is_error, r.fqdn, str(sorted(r.values.items()))) for r in rows]


async def test_5xx_and_429_mid_run_are_retried_and_nothing_is_stored_twice(env: Env) -> None:
    async with console(env.live, AVERY) as avery:
        posted = await avery.say("run InstalledSoftware on group:London")
        await next_where(avery, card_state(posted["id"], "in progress"))
        # Every call fails for a while: more 503s than one call's retries, then 429s with Retry-After.
        env.sim.switches.fail_next, env.sim.switches.fail_status = 8, 503
        env.sim.switches.rate_limit_next, env.sim.switches.retry_after = 4, 0
        noted = await next_where(avery, lambda m: m["id"] == posted["id"]
                                 and "Note:" in m["card"]["fallback"])
        assert "1E Tachyon" in noted["card"]["fallback"]
        done = await next_where(avery, card_state(posted["id"], "completed"), seconds=40)
        assert "Note:" not in done["card"]["fallback"]
    run = (await env.runs())[-1]
    rows = await stored(env, run.id)
    summary = env.sim.instructions[run.vendor_id or 0].statistics(env.sim.now())["Summary"]
    assert len(rows) == len(set(rows)) == summary["TotalRowInserts"] + run.others_stored
    assert run.errors_stored == summary["TotalErrorRespondents"] > 0
    assert run.failures == 0 and env.issued() == 1


async def test_a_lost_issue_answer_is_found_again_not_issued_twice(env: Env) -> None:
    env.sim.switches.lose_next_issue = 1  # 1E creates it, then the answer is lost (502)
    async with console(env.live, AVERY) as avery:
        posted = await avery.say("run GetOperatingSystem on PC-0001")
        await next_where(avery, card_state(posted["id"], "completed"))
    run = (await env.runs())[-1]
    assert len(env.sim.instructions) == 1 and run.vendor_id in env.sim.instructions


async def test_1e_refusing_the_instruction_fails_the_run_with_its_reason(env: Env) -> None:
    env.sim.switches.fail_next, env.sim.switches.fail_status = 1, 400
    env.sim.switches.fail_path = "post /consumer/instructions/targeted"
    async with console(env.live, AVERY) as avery:
        posted = await avery.say("run GetOperatingSystem on PC-0001")
        failed = await next_where(avery, card_state(posted["id"], "failed"))
        assert "1E did not take the instruction" in failed["card"]["fallback"]
        assert "HTTP 400" in failed["card"]["fallback"]
    async with env.rt.db.uow() as uow:
        ends = (await uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "tachyon.instruction.end"))).scalars().all()
    assert [e.outcome for e in ends] == ["failed"]


async def test_cancel_in_flight_by_the_requester_only(env: Env) -> None:
    await env.settings(response_batch_size=100)
    env.sim.switches.answer_seconds = 30
    async with env.rt.db.uow() as uow:  # Sam may run questions too, but not cancel Avery's
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Questioner", email=SAM)
        await uow.commit()
    async with console(env.live, AVERY) as avery, console(env.live, SAM) as sam:
        posted = await avery.say("run GetOperatingSystem on group:London")
        live = await next_where(avery, card_state(posted["id"], "in progress"))
        run = (await env.runs())[-1]
        other = (await sam.say(f"cancel {run.id}"))["card"]
        assert other["title"] == "Not allowed" and AVERY in other["fallback"]
        await click(avery, live, "Cancel")
        done = await next_where(avery, card_state(posted["id"], "cancelled"))
        assert f"Cancelled by {AVERY}." in done["card"]["fallback"]
        again = (await avery.say(f"cancel {run.id}"))["card"]
        assert "already ended" in again["fallback"]
    assert env.sim.instructions[run.vendor_id or 0].cancelled_at is not None


async def test_cancel_while_waiting_for_approval_withdraws_the_request(env: Env) -> None:
    async with console(env.live, AVERY) as avery:
        posted = await avery.say("run RestartService serviceName=Spooler on PC-0001")
        await next_where(avery, title_has("Approval needed"))  # the run command has finished
        run = (await env.runs())[-1]
        await avery.ws.send_json({"type": "command", "text": f"cancel {run.id}"})
        done = await next_where(avery, card_state(posted["id"], "cancelled"))
        await next_where(avery, title_has(f"Run {run.id}: cancel requested"))
        assert f"withdrawn by {AVERY}" in field(done, "Approval")
    assert (await env.request(run.id)).state == "cancelled" and env.issued() == 0
