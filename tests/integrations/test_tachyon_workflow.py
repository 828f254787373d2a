"""Tachyon approvals, cancel, 2FA and the failure modes: the server's rules, retries, error shapes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from integrations.http import VendorError
from integrations.tachyon.client import TachyonClient
from integrations.tachyon.status import Status
from tests.integrations.test_tachyon_client import APPROVER, FAST, TOKEN, Sim, running_sim, until

TV = ["pc-0007.corp.example.com"]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_sim() as running:
        yield running


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[TachyonClient]:
    async with TachyonClient(sim[1], "deskhand", TOKEN, approver_token=APPROVER, policy=FAST) as c:
        yield c


async def test_nobody_approves_their_own_instruction(sim: Sim, client: TachyonClient) -> None:
    simulator, url = sim
    issued = await client.issue("1E-TeamViewer-InstallFullClient", {"channel": "stable"}, fqdns=TV,
                                requested_for="riley.remote@example.com", consumer_custom_data="run-9")
    assert issued.awaiting_approval and issued.status_name == "In approval"
    await asyncio.sleep(0.1)
    assert (await client.status(issued.id)).status == Status.IN_APPROVAL  # nothing moves until decided
    async with TachyonClient(url, "deskhand", TOKEN, policy=FAST) as own:  # the creator's own token
        assert await own.can_approve(issued.id) is False
        with pytest.raises(VendorError) as refused:
            await own.approve(issued.id, "looks fine to me")
    assert refused.value.status == 403 and "cannot approve" in refused.value.message
    simulator.tokens["tok-riley-000000"] = "riley.remote@example.com"  # the person it was requested for
    async with TachyonClient(url, "deskhand", "tok-riley-000000", policy=FAST) as requester:
        with pytest.raises(VendorError):
            await requester.approve(issued.id)
    assert (await client.status(issued.id)).status == Status.IN_APPROVAL
    assert await client.can_approve(issued.id) is True
    await client.approve(issued.id, "change CHG0042")
    approved = await client.status(issued.id)
    assert approved.actioned_by == "approver@corp.example.com" and approved.action_reason == "change CHG0042"
    seen = await until(client, issued.id, lambda s: s.terminal)
    assert seen[0] == Status.APPROVED and seen[-1] == Status.COMPLETED
    row = (await client.responses(issued.id)).rows[0]
    assert row.values["Result"] in ("Installed", "AlreadyInstalled") and row.values["ExitCode"] == 0
    with pytest.raises(VendorError) as twice:
        await client.approve(issued.id)
    assert twice.value.status == 400 and "not awaiting approval" in twice.value.message
    check = await client.issue("1E-TeamViewer-CheckFullClientInstalled", {}, fqdns=TV)
    await until(client, check.id, lambda s: s.terminal)
    assert (await client.responses(check.id)).rows[0].values["Installed"] is True


async def test_rejection_is_final(client: TachyonClient) -> None:
    issued = await client.issue(301, {"serviceName": "Spooler"}, fqdns=TV)
    await client.reject(issued.id, "not during business hours")
    status = await client.status(issued.id)
    assert status.status == Status.REJECTED and status.terminal
    assert status.action_reason == "not during business hours"
    assert (await client.responses(issued.id)).rows == ()


async def test_cancel_stops_gathering_and_refuses_what_finished(sim: Sim, client: TachyonClient) -> None:
    simulator, _ = sim
    simulator.switches.answer_seconds = 30.0
    issued = await client.issue(101, {}, scope={})
    await until(client, issued.id, lambda s: s.status == Status.IN_PROGRESS)
    cancelled = await client.cancel(issued.id)
    assert cancelled.status in (Status.CANCELLING, Status.CANCELLED)
    await until(client, issued.id, lambda s: s.status == Status.CANCELLED)
    got = (await client.statistics(issued.id)).received
    await asyncio.sleep(0.1)
    assert (await client.statistics(issued.id)).received == got < 200  # frozen
    assert (await client.cancel(issued.id)).status == Status.CANCELLED  # repeating is harmless
    simulator.switches.answer_seconds = 0.0
    done = await client.issue(101, {}, fqdns=TV)
    await until(client, done.id, lambda s: s.terminal)
    with pytest.raises(VendorError) as late:
        await client.cancel(done.id)
    assert late.value.status == 400 and "already finished" in late.value.message


async def test_two_factor_code_then_approval(sim: Sim, client: TachyonClient) -> None:
    simulator, url = sim
    simulator.switches.two_factor = True
    issued = await client.issue(303, {}, fqdns=TV)
    assert issued.status == Status.AWAITING_AUTHENTICATION and issued.workflow_state == 11
    with pytest.raises(VendorError):
        await client.authenticate(issued.id, "000000x")
    async with httpx.AsyncClient() as raw:
        code = (await raw.get(url.replace("/Consumer/", f"/_control/otp/{issued.id}"))).json()["Token"]
    await client.authenticate(issued.id, code)
    assert (await client.status(issued.id)).status == Status.IN_APPROVAL


async def test_forced_status_and_server_side_parameter_checks(sim: Sim, client: TachyonClient) -> None:
    simulator, _ = sim
    issued = await client.issue(101, {}, fqdns=TV)
    simulator.switches.force_status = 10
    simulator.instructions[issued.id].forced = 10
    assert (await client.status(issued.id)).status == Status.FAILED
    with pytest.raises(VendorError) as bad:
        await client.issue(103, {"serviceName": "spool; rm -rf"}, fqdns=TV)
    assert bad.value.status == 400 and bad.value.code == "bad_request" and "serviceName" in bad.value.message
    with pytest.raises(VendorError) as ttl:
        await client.issue(101, {}, fqdns=TV, instruction_ttl_minutes=5)
    assert "between 10 and 10080" in ttl.value.message
    with pytest.raises(VendorError) as unknown:
        await client.issue("No-Such-Definition", {}, fqdns=TV)
    assert unknown.value.status == 404


async def test_429_and_5xx_are_retried_then_reported(sim: Sim, client: TachyonClient) -> None:
    simulator, _ = sim
    simulator.switches.retry_after = 0
    simulator.switches.rate_limit_next = 2
    assert len(await client.definitions()) >= 8  # third try gets through
    simulator.switches.rate_limit_next = 5
    with pytest.raises(VendorError) as limited:
        await client.definitions(cid="ref-429")
    assert (limited.value.status, limited.value.code, limited.value.attempts) == (429, "rate_limited", 3)
    assert limited.value.correlation_id == "ref-429"
    simulator.switches.rate_limit_next = 0
    simulator.switches.fail_next, simulator.switches.fail_status = 2, 503
    issued = await client.issue(101, {}, fqdns=TV)  # 503 means "not done": even a POST is resent
    simulator.switches.fail_next, simulator.switches.fail_status = 9, 502
    with pytest.raises(VendorError) as broken:
        await client.status(issued.id)
    assert broken.value.code == "server_error" and "3 tries" in broken.value.message
    simulator.switches.fail_next, simulator.switches.fail_path = 2, "post /consumer/responses"
    assert (await client.responses(issued.id)).start == "0;0"  # reading pages is safe to repeat
    assert simulator.switches.fail_next == 0


async def test_missing_or_wrong_credentials_get_the_documented_errors(sim: Sim) -> None:
    _, url = sim
    async with httpx.AsyncClient(base_url=url) as raw:
        bare = await raw.get("InstructionDefinitions")
        assert bare.status_code == 401
        assert bare.json() == {"Message": "Authorization has been denied for this request."}
        no_consumer = await raw.get("InstructionDefinitions", headers={"X-Tachyon-Authenticate": TOKEN})
        assert no_consumer.status_code == 403 and "X-Tachyon-Consumer" in no_consumer.json()["Message"]
    async with TachyonClient(url, "deskhand", "wrong-token-abcdef", policy=FAST) as wrong:
        with pytest.raises(VendorError) as unauthorized:
            await wrong.ping()
    assert unauthorized.value.code == "unauthorized"
    assert "DESKHAND_TACHYON_TOKEN" in unauthorized.value.message
    assert "wrong-token" not in unauthorized.value.message
    async with TachyonClient(url, "Explorer", APPROVER, policy=FAST) as other:
        with pytest.raises(VendorError) as forbidden:
            await other.definitions()
    assert forbidden.value.status == 403 and "Explorer" in forbidden.value.message
