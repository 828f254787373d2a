"""Workspace ONE failing under `/deskhand device lock` on Slack's real path: 401 (bad credentials),
429 (retried after Retry-After; persistent: busy), 500 (a read retried, then "did not do it"; a
command never resent). Whatever fails, the person gets a plain card with the reference and no
traceback, the audit row `ws1.lock` says `failed` with Workspace ONE's message, and no note is
written on the device. The faults come from the simulator's switches, as a test or the demo sets
them through `/_control`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.audit import AuditEvent
from tests.fakes.slack_api import ALEX, SlackEnv, slack_env
from tests.handlers.test_device_actions_slack import ask, header
from tests.handlers.ws1_env import CODE, PASSWORD, USER, aim, audit_of, device_in, simulator, ws1_settings

LOOKUP, COMMAND = "GET /api/mdm/devices", "POST /api/mdm/devices/{id}/commands"


class Env:
    def __init__(self, slack: SlackEnv, sim: WorkspaceOneSimulator, url: str, pc: str) -> None:
        self.slack, self.sim, self.url, self.pc = slack, sim, url, pc

    async def control(self, **switches: Any) -> None:
        """Set the simulator's switches the way the demo and an operator do: POST /_control."""
        async with httpx.AsyncClient() as http:
            answer = await http.post(self.url.removesuffix("/api/") + "/_control", json=switches)
        assert answer.status_code == 200, answer.text

    async def lock(self, name: str) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        reply = await ask(self.slack, ALEX, f"device lock {self.pc}", name)
        await self.slack.idle()
        return reply, time.monotonic() - started

    def lookups(self) -> int:
        return sum(n for call, n in self.sim.hits.items() if call.startswith("GET "))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with simulator() as (sim, url), slack_env(tmp_path, **ws1_settings(url)) as slack:
        await aim(slack.server, sim)
        yield Env(slack, sim, url, await device_in(slack.server, "London"))


async def failed_plainly(env: Env, reply: dict[str, Any], title: str,
                         caplog: pytest.LogCaptureFixture) -> AuditEvent:
    """The card says what failed with the reference; the audit row carries Workspace ONE's
    message; nothing was noted on the device; no traceback anywhere. Returns the audit row."""
    assert header(reply) == f":no_entry: {title}", reply["text"]
    said = json.dumps(reply)
    assert "Traceback" not in said and PASSWORD not in said and CODE not in said
    [row] = await audit_of(env.slack.server, "ws1.lock")
    assert (row.kind, row.outcome, row.target) == ("external", "failed", env.pc)
    assert row.detail and row.detail in reply["text"]  # what Workspace ONE said, as shown
    assert f"ref {row.correlation_id}" in reply["text"]
    [command] = await audit_of(env.slack.server, "device lock")
    assert (command.outcome, command.correlation_id) == ("failed", row.correlation_id)
    assert env.sim.sent_to(env.pc, "Note") == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    return row


async def test_bad_credentials_401_tell_an_administrator_what_to_check(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.sim.accounts[USER] = "the-password-was-rotated"
    reply, _ = await env.lock("401")
    row = await failed_plainly(env, reply, "Workspace ONE refused deskhand's sign-in", caplog)
    assert "401, error 1005" in row.detail and "the tenant code (aw-tenant-code)" in row.detail
    assert "Workspace ONE activity id:" in row.detail
    assert env.sim.sent == [] and env.lookups() == 1  # a refusal is not retried
    assert env.sim.refused == 1


async def test_a_429_is_retried_after_its_retry_after_and_the_lock_goes_through(env: Env) -> None:
    await env.control(rate_limit_next=1, retry_after=1)
    reply, took = await env.lock("429-once")
    assert header(reply) == f":white_check_mark: Lock: {env.pc}"
    assert took >= 1.0  # Retry-After was waited out
    assert env.lookups() == 2 and len(env.sim.sent_to(env.pc, "Lock")) == 1
    [row] = await audit_of(env.slack.server, "ws1.lock")
    assert row.outcome == "ok"


async def test_a_persistent_429_says_workspace_one_is_busy(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.control(rate_limit_next=100, retry_after=1)
    reply, took = await env.lock("429")
    row = await failed_plainly(env, reply, "Workspace ONE is busy", caplog)
    assert "rate limiting deskhand" in row.detail and "try again later" in row.detail
    assert env.lookups() == 3 and took >= 2.0  # every try the policy allows, each after 1 s
    assert env.sim.sent == []


async def test_a_429_asking_for_longer_than_a_person_waits_is_not_waited_out(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.control(rate_limit_next=100, retry_after=3600)
    reply, took = await env.lock("429-long")
    await failed_plainly(env, reply, "Workspace ONE is busy", caplog)
    assert env.lookups() == 1 and took < 5


async def test_a_500_on_the_lookup_is_retried_then_did_not_do_it(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.control(fail_next=100, fail_status=500, fail_path=LOOKUP)
    reply, _ = await env.lock("500-read")
    row = await failed_plainly(env, reply, "Workspace ONE did not do it", caplog)
    assert "HTTP 500, error 1000: Simulated failure." in row.detail
    assert "persisted after 3 tries" in row.detail
    assert env.lookups() == 3 and env.sim.sent == []


async def test_a_500_on_the_lock_is_not_resent_and_says_it_may_have_arrived(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.control(fail_next=1, fail_status=500, fail_path="/commands")
    reply, _ = await env.lock("500-command")
    row = await failed_plainly(env, reply, "Workspace ONE did not do it", caplog)
    assert "may or may not have reached the device" in row.detail
    assert env.sim.hits[COMMAND] == 1  # a command that may have arrived is never sent twice
