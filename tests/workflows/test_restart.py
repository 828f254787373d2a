"""Durability: a real `deskhand serve` killed with SIGKILL mid-poll; the restarted process takes
the run over once its lease lapses and completes it exactly once (no second instruction, no
response stored twice, none missing)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
from sqlalchemy import func, select

from bot.demo import seed
from bot.rbac import ensure_system_roles
from integrations.simulator_kit import serve
from integrations.tachyon.sim_api import Switches
from integrations.tachyon.simulator import TachyonSimulator
from storage import migrate
from storage.db import Database
from storage.instructions import ERROR, InstructionResponse, InstructionRun
from storage.tenants import SettingsRepo, TenantRepo
from tests.bot.test_smoke_console import ConsoleClient
from tests.conftest import SECRET, free_port
from tests.workflows.env import APPROVER, APPROVER_TOKEN, AVERY, SERVICE, TOKEN, sim_fleet

DESKHAND = Path(sys.executable).parent / "deskhand"


@contextmanager
def deskhand(tmp: Path, db_url: str, port: int, sim_url: str, log: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env.update(DESKHAND_DATABASE_URL=db_url, DESKHAND_MODE="dev", DESKHAND_SECRET_KEY=SECRET,
               DESKHAND_TENANT="acme", DESKHAND_PORT=str(port), DESKHAND_TACHYON_URL=sim_url,
               DESKHAND_TACHYON_TOKEN=TOKEN, DESKHAND_TACHYON_APPROVER_TOKEN=APPROVER_TOKEN,
               DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}", PYTHONUNBUFFERED="1")
    with open(tmp / log, "wb") as out:
        proc = subprocess.Popen([str(DESKHAND), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp / log).read_text()
            assert time.monotonic() < deadline, (tmp / log).read_text()
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)


async def prepare(db_url: str) -> Database:
    db = Database(db_url)
    await migrate.upgrade(db.engine)
    async with db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("acme", "Acme")
        await ensure_system_roles(uow, tenant.id)
        await seed(uow, tenant.id)
        await uow.repo(SettingsRepo).put(tenant.id, {"status_wait_seconds": 1, "response_batch_size": 10},
                                         by="test")
        await uow.commit()
    return db


async def the_run(db: Database) -> InstructionRun | None:
    async with db.uow() as uow:
        return (await uow.session.execute(select(InstructionRun))).scalars().first()


async def test_sigkill_mid_poll_then_restart_completes_the_run_once(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"
    db = await prepare(db_url)
    # Fifty London devices answer over 12 s, ten rows per fetch: the kill lands mid-stream.
    sim = TachyonSimulator(tokens={TOKEN: SERVICE, APPROVER_TOKEN: APPROVER},
                           switches=Switches(step_seconds=0.2, answer_seconds=12, offline_percent=0))
    runner, sim_url = await serve(sim)
    try:
        await sim_fleet(db, 1, sim)
        port = free_port()
        with deskhand(tmp_path, db_url, port, sim_url, "first.log") as first:
            url = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{url}/console/api/personas") as r:
                    pid = next(p["id"] for p in await r.json() if p["email"] == AVERY)
            async with aiohttp.ClientSession() as s, s.ws_connect(f"{url}/console/ws?persona={pid}") as ws:
                client = ConsoleClient(ws)
                await client.next("hello")
                card = await client.say("run InstalledSoftware on group:London")
                assert card["card"]["title"].endswith("on group London")
            deadline = time.monotonic() + 20
            hits = None
            while True:
                run = await the_run(db)
                if hits is None and run is not None and 0 < run.answers_stored \
                        and run.state == "in_progress":
                    # Make every 1E call take 5 s, then kill once a call has started while the
                    # run's lease is held: the drive is then certainly waiting on 1E, lease held.
                    sim.switches.latency = 5.0
                    hits = sum(sim.hits.values())
                if hits is not None and run is not None and run.lease_holder is not None \
                        and sum(sim.hits.values()) > hits:
                    break
                assert time.monotonic() < deadline, "the run never got going"
                await asyncio.sleep(0.02)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        killed = await the_run(db)
        assert killed is not None and killed.state == "in_progress"
        assert killed.answers_stored < 150 and killed.lease_holder is not None  # died holding the run
        sim.switches.latency = 0.0
        with deskhand(tmp_path, db_url, port, sim_url, "second.log"):
            deadline = time.monotonic() + 40
            while True:
                run = await the_run(db)
                assert run is not None
                if run.state == "completed":
                    break
                assert time.monotonic() < deadline, f"not completed: {run.state} {run.last_error}"
                await asyncio.sleep(0.1)
        ins = sim.instructions[run.vendor_id or 0]
        expected = ins.statistics(sim.now())["Summary"]
        async with db.uow() as uow:
            rows = (await uow.session.execute(select(
                InstructionResponse.fqdn, InstructionResponse.values).where(
                InstructionResponse.run_id == run.id, InstructionResponse.is_error.is_(False)))).all()
            errors = (await uow.session.execute(select(func.count()).where(
                InstructionResponse.run_id == run.id, InstructionResponse.kind == ERROR))).scalar_one()
        keys = [(fqdn, values["Product"], values["Version"]) for fqdn, values in rows]
        assert len(keys) == len(set(keys)) == expected["TotalRowInserts"] == run.answers_stored
        assert errors == expected["TotalErrorRespondents"] == run.errors_stored
        assert len(sim.instructions) == 1  # issued once, before the kill
    finally:
        await runner.cleanup()
        await db.dispose()
