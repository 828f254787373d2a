"""deskhand on loopback with its Tachyon client aimed at the simulator on another port.

Shared by the instruction, approval and workflow tests: real HTTP both ways, the console
WebSocket as the chat platform, the demo fleet and personas seeded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.demo import facts
from integrations.http import RetryPolicy
from integrations.simulator_kit import serve
from integrations.tachyon.client import POLICY
from integrations.tachyon.sim_api import Switches
from integrations.tachyon.simulator import TachyonSimulator
from storage.db import Database
from storage.devices import DeviceRepo
from storage.instructions import InstructionRun, InstructionRunRepo
from storage.tenants import SettingsRepo
from storage.workflow import ApprovalRepo, ApprovalRequest
from tests.bot.test_smoke_console import ConsoleClient, persona_id
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, SlackEnv
from tests.fakes.slack_api import SECRET as SLACK_SECRET

TOKEN, APPROVER_TOKEN = "tachyon-deskhand-0123456789", "tachyon-approver-0123456789"
SERVICE, APPROVER = "svc-deskhand@corp.example.com", "svc-approver@corp.example.com"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
ALEX, AVERY, PAT = "alex.admin@example.com", "avery.actioner@example.com", "pat.approver@example.com"
RILEY, SAM, NINA = "riley.remote@example.com", "sam.standard@example.com", "nina.new@example.com"
QUICK = {"step_seconds": 0.2, "answer_seconds": 0.6, "offline_percent": 0}


@dataclass
class Env:
    live: LiveServer
    sim: TachyonSimulator
    sim_url: str
    slack: SlackEnv | None = None

    @property
    def rt(self) -> Any:
        return self.live.runtime

    async def runs(self) -> list[InstructionRun]:
        async with self.rt.db.uow() as uow:
            q = select(InstructionRun).order_by(InstructionRun.id)
            return list((await uow.session.execute(q)).scalars().all())

    async def run(self, run_id: int) -> InstructionRun:
        async with self.rt.db.uow() as uow:
            row = await uow.repo(InstructionRunRepo).get(self.rt.tenant_id, run_id)
        assert row is not None
        return row

    async def request(self, run_id: int) -> ApprovalRequest:
        async with self.rt.db.uow() as uow:
            row = await uow.repo(ApprovalRepo).for_subject("instruction.run", run_id)
        assert row is not None
        return row

    async def settings(self, **values: Any) -> None:
        async with self.rt.db.uow() as uow:
            repo = uow.repo(SettingsRepo)
            await repo.put(self.rt.tenant_id, {**await repo.get(self.rt.tenant_id), **values}, by="test")
            await uow.commit()

    async def wait_run(self, run_id: int, done: Callable[[InstructionRun], bool],
                       seconds: float = 20) -> InstructionRun:
        deadline = time.monotonic() + seconds
        while True:
            run = await self.run(run_id)
            if done(run):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} stuck in {run.state}: {run.last_error or run.outcome}")
            await asyncio.sleep(0.1)

    def issued(self) -> int:
        return sum(n for k, n in self.sim.hits.items() if k.startswith("POST /consumer/instructions")
                   and "search" not in k and "cancel" not in k)


async def devices_in(live: LiveServer, group: str, count: int = 1) -> list[str]:
    async with live.runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        groups = {g.name: g.id for g in await inventory.groups(live.runtime.tenant_id)}
        rows = await inventory.page(live.runtime.tenant_id, query=None, group_ids=[groups[group]],
                                    after=None, limit=count)
    return [d.name for d, _ in rows]


async def sim_fleet(db: Database, tenant_id: int, sim: TachyonSimulator) -> None:
    """The simulator's fleet is deskhand's inventory: same FQDNs, same management groups."""
    async with db.uow() as uow:
        rows = await uow.repo(DeviceRepo).page(tenant_id, query=None, group_ids=None, after=None,
                                               limit=100_000)
    sim.seed_devices([(d.fqdn or "", g or "Default", facts(d)) for d, g in rows])


@asynccontextmanager
async def instruction_env(tmp_path: Path, *, url: str | None = None, settings: dict[str, Any] | None = None,
                          slack: bool = False, process: dict[str, Any] | None = None,
                          **switches: Any) -> AsyncIterator[Env]:
    """deskhand + simulator (+ a fake Slack when `slack`); `switches` tune the simulator and
    `process` adds DESKHAND_* settings (another vendor's, say)."""
    sim = TachyonSimulator(tokens={TOKEN: SERVICE, APPROVER_TOKEN: APPROVER},
                           switches=Switches(**{**QUICK, **switches}))
    sim_runner, sim_url = await serve(sim)
    fake = FakeSlack() if slack else None
    extra: dict[str, Any] = dict(process or {})
    if fake is not None:
        await fake.start(free_port())
        extra |= {"slack_signing_secret": SLACK_SECRET, "slack_bot_token": BOT_TOKEN,
                 "slack_api_url": fake.url + "/api/"}
    port = free_port()
    runner, live = await start_server(make_settings(
        url or sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
        tachyon_url=sim_url, tachyon_token=TOKEN, tachyon_approver_token=APPROVER_TOKEN, **extra))
    try:
        await sim_fleet(live.runtime.db, live.runtime.tenant_id, sim)
        live.runtime.tenant_clients.tune("1e", policy=FAST)
        async with aiohttp.ClientSession() as http:
            env = Env(live, sim, sim_url, SlackEnv(fake, live, http) if fake is not None else None)
            await env.settings(status_wait_seconds=1, **(settings or {}))
            yield env
    finally:
        await runner.cleanup()
        await sim_runner.cleanup()
        if fake is not None:
            await fake.stop()


@asynccontextmanager
async def console(live: LiveServer, email: str) -> AsyncIterator[ConsoleClient]:
    pid = await persona_id(live, email)
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{live.url}/console/ws?persona={pid}") as ws:
        client = ConsoleClient(ws)
        await client.next("hello")
        yield client


async def next_where(client: ConsoleClient, match: Callable[[dict[str, Any]], bool],
                     seconds: float = 20) -> dict[str, Any]:
    """The next message or update (any kind) whose payload matches."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no matching console message arrived")
        data = await asyncio.wait_for(client.ws.receive_json(), left)
        if data.get("type") in ("message", "update") and data["message"].get("kind") == "card" \
                and match(data["message"]):
            return data["message"]


def card_state(message_id: str, state: str) -> Callable[[dict[str, Any]], bool]:
    """The run card `message_id`, once its State field reads `state`."""
    return lambda m: m["id"] == message_id and field(m, "State") == state


def title_has(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: text in m["card"]["title"]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    found = [b for b in message["card"]["buttons"] if b["label"] == label]
    assert found, f"no {label!r} button in {[b['label'] for b in message['card']['buttons']]}"
    return found[0]


def field(message: dict[str, Any], label: str) -> str:
    for section in message["card"]["sections"]:
        for item in section.get("items", []):
            if item["label"] == label:
                return str(item["value"])
    raise KeyError(label)


async def click(client: ConsoleClient, message: dict[str, Any], label: str,
                inputs: dict[str, str] | None = None) -> None:
    b = button(message, label)
    await client.ws.send_json({"type": "action", "message_id": message["id"], "action_id": b["action_id"],
                               "value": b["value"], "inputs": inputs or {}})


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
