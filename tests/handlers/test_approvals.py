"""Approvals end to end: console and Slack clicks, the simulator as 1E, the database as arbiter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from storage.audit import AuditEvent
from storage.directory import ChatIdentity, PrincipalRow
from storage.workflow import ApprovalRequest
from tests.fakes.slack_api import ALEX as SLACK_ALEX
from tests.workflows.env import (
    ALEX,
    APPROVER,
    AVERY,
    PAT,
    SAM,
    Env,
    card_state,
    click,
    console,
    devices_in,
    field,
    instruction_env,
    next_where,
    title_has,
)

RESTART = "run RestartService serviceName=Spooler on {} for INC0000042"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path) as e:
        yield e


def labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for b in message["card"]["buttons"]]


async def audit(env: Env, kind: str, action: str) -> list[AuditEvent]:
    async with env.rt.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.kind == kind, AuditEvent.action == action)
        return list((await uow.session.execute(q.order_by(AuditEvent.id))).scalars().all())


async def test_approved_action_goes_to_1e_once_and_every_copy_loses_its_buttons(env: Env) -> None:
    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        mine = await avery.say(RESTART.format("PC-0001"))
        assert mine["private"] and field(mine, "State") == "waiting for approval"
        assert labels(mine) == ["Cancel"] and "pending" in field(mine, "Approval")
        ask = await next_where(pat, title_has("Approval needed"))
        assert not ask["private"] and labels(ask) == ["Approve", "Deny"]
        assert any(s["type"] == "text_input" and s["id"] == "reason" for s in ask["card"]["sections"])
        await asyncio.sleep(1.5)  # a poll tick or two: nothing may reach 1E before the decision
        assert env.issued() == 0
        await click(pat, ask, "Approve", {"reason": "change window is open"})
        reply = await next_where(pat, lambda m: m["private"])
        assert reply["card"]["title"].endswith("approved")
        decided = await next_where(pat, lambda m: m["id"] == ask["id"] and not labels(m))
        assert field(decided, "Approval") == f"approved by {PAT}: change window is open"
        done = await next_where(avery, card_state(mine["id"], "completed"))
        assert "Show results" in labels(done) and "Export CSV" in labels(done)
    run = (await env.runs())[-1]
    assert (run.state, run.answers_stored, env.issued()) == ("completed", 1, 1)
    assert run.approved_at is not None and run.sent_at is not None and run.approved_at <= run.sent_at
    ins = env.sim.instructions[run.vendor_id or 0]
    assert ins.actioned_by == APPROVER and ins.body["RequestedFor"] == AVERY
    assert ins.action_reason == f"Approved in deskhand by {PAT}: change window is open"
    [decision] = await audit(env, "decision", "instruction.approve")
    assert (decision.actor_email, decision.outcome) == (PAT, "approved")
    assert decision.detail == "change window is open"


async def test_denial_with_reason_reaches_the_requester_and_nothing_is_issued(env: Env) -> None:
    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        mine = await avery.say(RESTART.format("PC-0001"))
        ask = await next_where(pat, title_has("Approval needed"))
        await click(pat, ask, "Deny", {"reason": "not during business hours"})
        denied = await next_where(avery, card_state(mine["id"], "denied"))
        assert f"Denied by {PAT}: not during business hours" in denied["card"]["fallback"]
        assert labels(denied) == [] and denied["card"]["tone"] == "attention"
    run = (await env.runs())[-1]
    request = await env.request(run.id)
    assert (request.state, request.decided_by_email) == ("denied", PAT)
    assert request.reason == "not during business hours"
    assert env.issued() == 0 and run.vendor_id is None


async def test_request_expires_and_a_late_click_is_refused(env: Env) -> None:
    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        mine = await avery.say(RESTART.format("PC-0001"))
        ask = await next_where(pat, title_has("Approval needed"))
        async with env.rt.db.uow() as uow:  # as if approval_expiry_minutes had passed
            await uow.session.execute(update(ApprovalRequest).values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await uow.commit()
        await click(pat, ask, "Approve")
        late = await next_where(pat, lambda m: m["private"])
        assert late["card"]["title"] in ("Request expired", "Already decided")
        expired = await next_where(avery, card_state(mine["id"], "expired"),
                                   seconds=20)  # the expiry job sweeps every 10 s
        assert "Nobody approved or denied it" in expired["card"]["fallback"]
    run = (await env.runs())[-1]
    assert (await env.request(run.id)).state == "expired" and env.issued() == 0


async def test_approver_out_of_scope_is_refused_and_the_request_stays_open(env: Env) -> None:
    async with env.rt.db.uow() as uow:
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Approver", email=SAM,
                               scope=Scope(device_groups=["London"]))
        await uow.commit()
    [london], [singapore] = await devices_in(env.live, "London"), await devices_in(env.live, "Singapore")
    async with console(env.live, AVERY) as avery, console(env.live, SAM) as sam:
        await avery.say(RESTART.format(f"{london},{singapore}"))
        ask = await next_where(sam, title_has("Approval needed"))
        await click(sam, ask, "Approve")
        refused = await next_where(sam, lambda m: m["private"])
        assert refused["card"]["title"] == "Not allowed"
        assert singapore in refused["card"]["fallback"] and "Singapore" in refused["card"]["fallback"]
    run = (await env.runs())[-1]
    assert (await env.request(run.id)).state == "pending" and run.state == "awaiting_approval"
    [denial] = [d for d in await audit(env, "denial", "instruction.approve") if d.actor_email == SAM]
    assert denial.target == singapore
    async with console(env.live, ALEX) as alex:
        await click(alex, ask, "Approve")
        assert (await next_where(alex, lambda m: m["private"]))["card"]["title"] == f"Run {run.id} approved"
    await env.wait_run(run.id, lambda r: r.state == "completed")


@pytest.mark.parametrize("clickers", [(PAT, ALEX)])
async def test_fifty_concurrent_clicks_make_one_decision_and_one_instruction(
        tmp_path: Path, db_url: str, clickers: tuple[str, str]) -> None:
    async with instruction_env(tmp_path, url=db_url) as env:
        async with console(env.live, AVERY) as avery, console(env.live, clickers[0]) as one, \
                console(env.live, clickers[1]) as two:
            await avery.say(RESTART.format("PC-0001"))
            ask = await next_where(one, title_has("Approval needed"))
            b = next(x for x in ask["card"]["buttons"] if x["label"] == "Approve")
            click_msg = {"type": "action", "message_id": ask["id"], "action_id": b["action_id"],
                         "value": b["value"], "inputs": {"reason": "race"}}
            await asyncio.gather(*(sock.ws.send_json(click_msg) for _ in range(25) for sock in (one, two)))
            titles: list[str] = []
            for sock in (one, two):
                for _ in range(25):
                    titles.append((await next_where(sock, lambda m: m["private"]))["card"]["title"])
        run = (await env.runs())[-1]
        assert sorted(set(titles)) == ["Already decided", f"Run {run.id} approved"]
        assert titles.count(f"Run {run.id} approved") == 1
        run = await env.wait_run(run.id, lambda r: r.state == "completed")
        assert env.issued() == 1 and len(env.sim.instructions) == 1 and run.answers_stored == 1
        assert [d.outcome for d in await audit(env, "decision", "instruction.approve")] == ["approved"]


async def test_requester_cannot_approve_from_their_slack_account(tmp_path: Path) -> None:
    """Alex (Full Administrator, so he holds instruction.approve) asks in the console and tries to
    approve from Slack: the Slack account resolves to the same principal and is refused."""
    channel = {"approval_channel_slack": "C0APPROVERS"}
    async with instruction_env(tmp_path, slack=True, settings=channel) as env:
        slack = env.slack
        assert slack is not None
        slack.fake.add_user("U0PAT", PAT)
        slack.fake.add_user(SLACK_ALEX, ALEX)
        async with console(env.live, ALEX) as alex:
            await alex.say(RESTART.format("PC-0001"))
        posted = (await slack.fake.wait_for("chat.postMessage"))[0]
        assert posted.args["channel"] == "C0APPROVERS" and "Approval needed" in posted.args["text"]
        actions = next(b for b in posted.args["blocks"] if b["type"] == "actions")
        approve = next(e for e in actions["elements"] if e["text"]["text"] == "Approve")

        async def submit(user: str, trigger: str, reason: str) -> None:
            await slack.send(slack.action_body(user, approve["action_id"], approve["value"],
                                               ts=posted.result["ts"], channel="C0APPROVERS",
                                               block_id=actions["block_id"], trigger=trigger))
            opened = next(c for c in await slack.fake.wait_for("views.open", int(trigger[-1]))
                      if c.args["trigger_id"] == trigger).args
            view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
            values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
            await slack.send(slack.view_body(user, view["private_metadata"], values))
            await slack.idle()

        await submit(SLACK_ALEX, "trig-1", "I approve my own")
        said = " ".join(c.args.get("text", "") for c in slack.fake.calls
                        if c.method in ("response_url", "chat.postEphemeral"))
        assert "You asked for run" in said and "every chat account linked to you" in said
        run = (await env.runs())[-1]
        assert (await env.request(run.id)).state == "pending" and env.issued() == 0
        async with env.rt.db.uow() as uow:
            alex_id = (await uow.session.execute(select(PrincipalRow.id).where(
                PrincipalRow.email == ALEX))).scalar_one()
            links = (await uow.session.execute(select(ChatIdentity.platform).where(
                ChatIdentity.principal_id == alex_id))).scalars().all()
        assert sorted(links) == ["console", "slack"]
        [denial] = await audit(env, "denial", "instruction.approve")
        assert denial.actor_email == ALEX and (denial.platform_identity or "").startswith("slack:")

        await submit("U0PAT", "trig-2", "looks fine")
        run = await env.wait_run(run.id, lambda r: r.state == "completed")
        update_call = next(c for c in slack.fake.called("chat.update") if c.args["channel"] == "C0APPROVERS")
        assert f"approved by {PAT}: looks fine" in update_call.args["text"]
        assert not any(b["type"] == "actions" for b in update_call.args["blocks"])
        assert env.issued() == 1


async def test_two_factor_code_releases_the_action_once_and_is_never_stored(tmp_path: Path) -> None:
    """1E asks for an e-mailed code (Status 12): the requester types it on the card."""
    async with instruction_env(tmp_path, settings={"enable_approval": False}, two_factor=True,
                               approval_for_actions=False) as env:
        async with console(env.live, AVERY) as avery, console(env.live, SAM) as sam:
            mine = await avery.say(RESTART.format("PC-0001"))
            waiting = await next_where(avery, lambda m: m["id"] == mine["id"] and "Send code" in labels(m))
            assert "one-time code" in waiting["card"]["fallback"]
            assert any(s["type"] == "text_input" and s["id"] == "code" for s in waiting["card"]["sections"])
            run = (await env.runs())[-1]
            otp = env.sim.instructions[run.vendor_id or 0].otp
            await click(sam, waiting, "Send code", {"code": otp})  # not Sam's run, not an admin
            assert (await next_where(sam, lambda m: m["private"]))["card"]["title"] == "Not allowed"
            await click(avery, waiting, "Send code", {"code": "12 ab!"})
            assert (await next_where(avery, title_has("Check the code")))["private"]
            await click(avery, waiting, "Send code", {"code": "000000" if otp != "000000" else "111111"})
            refused = await next_where(avery, title_has("Code refused"))
            assert "not valid" in refused["card"]["fallback"] and "ref " in refused["card"]["fallback"]
            await click(avery, waiting, "Send code", {"code": otp})
            assert (await next_where(avery, title_has("Code accepted")))["private"]
            done = await next_where(avery, card_state(mine["id"], "completed"))
            assert "Send code" not in labels(done)
            await click(avery, waiting, "Send code", {"code": otp})  # a stale card
            assert (await next_where(avery, title_has("No code needed")))["private"]
        assert env.issued() == 1
        async with env.rt.db.uow() as uow:
            events = (await uow.session.execute(select(AuditEvent))).scalars().all()
        assert events and not any(otp in f"{e.params} {e.detail}" for e in events)
        assert [e.outcome for e in events if e.action == "run.code"] == ["denied", "refused", "refused",
                                                                          "ok", "refused"]
