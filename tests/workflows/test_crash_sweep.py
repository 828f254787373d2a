"""A burst of `remote` commands, then SIGKILL of the listener and its worker while TeamViewer
is still thinking: after a restart no session row stays pending, each ends failed with its
reason, and each requester is told in the conversation they asked in."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
from sqlalchemy import select

from integrations.simulator_kit import serve as serve_sim
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.devices import Device
from storage.remote import RemoteSession
from tests.bot.test_workers import children, gone, serve, until
from tests.conftest import SECRET as KEY
from tests.conftest import LiveServer, free_port
from tests.fakes.slack_api import ALEX, BOT_TOKEN, SECRET, FakeSlack, SlackEnv
from tests.workflows.test_restart import prepare

TOKEN = "1234567-ScriptTokenForTests01"


async def test_sigkill_during_a_remote_burst_leaves_no_session_pending(tmp_path: Path) -> None:
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    sim = TeamViewerSimulator(script_tokens=(TOKEN,))
    sim.switches.latency = 10  # every call hangs: the kill lands while TeamViewer is asked
    sim_runner, sim_url = await serve_sim(sim)
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"
    db = await prepare(db_url)
    async with db.uow() as uow:
        devices = (await uow.session.execute(
            select(Device.name).order_by(Device.name).limit(3))).scalars().all()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env.update(DESKHAND_DATABASE_URL=db_url, DESKHAND_MODE="production", DESKHAND_SECRET_KEY=KEY,
               DESKHAND_TENANT="acme", DESKHAND_PORT=str(port), DESKHAND_WORKERS="1",
               DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}", DESKHAND_SLACK_SIGNING_SECRET=SECRET,
               DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN, DESKHAND_SLACK_API_URL=fake.url + "/api/",
               DESKHAND_TEAMVIEWER_URL=f"{sim_url}/api/v1/", DESKHAND_TEAMVIEWER_API_TOKEN=TOKEN,
               DESKHAND_STUCK_AFTER="5", PYTHONUNBUFFERED="1")

    async def rows() -> list[RemoteSession]:
        async with db.uow() as uow:
            return list((await uow.session.execute(select(RemoteSession))).scalars().all())

    try:
        async with aiohttp.ClientSession() as http:
            slack = SlackEnv(fake, LiveServer(None, f"http://127.0.0.1:{port}"), http)  # type: ignore[arg-type]

            async def ready() -> bool:
                try:
                    async with http.get(f"{slack.server.url}/readyz") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            async def started(proc: object) -> None:
                deadline = time.monotonic() + 30
                while not await ready():
                    assert time.monotonic() < deadline, "deskhand did not get ready"
                    await asyncio.sleep(0.05)

            with serve(tmp_path, env) as first:
                await started(first)
                await until("the worker process", lambda: children(first.pid))
                (worker,) = children(first.pid)
                for n, device in enumerate(devices):
                    status, _, _ = await slack.command(ALEX, "/remote", device, response=f"r{n}")
                    assert status == 200
                for _ in range(400):
                    if len([r for r in await rows() if r.state == "pending"]) == len(devices):
                        break
                    await asyncio.sleep(0.05)
                assert [r.state for r in await rows()] == ["pending"] * len(devices)
                os.kill(worker, signal.SIGKILL)
                os.kill(first.pid, signal.SIGKILL)
                await until("the kill", lambda: gone(worker) and first.poll() is not None)
            sim.switches.latency = 0
            with serve(tmp_path, env) as second:
                await started(second)
                deadline = time.monotonic() + 60  # the sweep runs every 15 s; stuck after 5 s
                while len(notices := [c for c in fake.called("response_url")
                                      if "did not start" in str(c.args)]) < len(devices):
                    assert time.monotonic() < deadline, [c.method for c in fake.calls]
                    await asyncio.sleep(0.05)
                second.send_signal(signal.SIGTERM)
                await until("serve to stop", lambda: second.poll() is not None)
        settled = await rows()
        assert [(r.state, r.end_state) for r in settled] == \
            [("failed", "interrupted before TeamViewer answered")] * len(devices)
        assert sorted(c.path for c in notices) == [f"/response/r{n}" for n in range(len(devices))]
        assert all(c.args.get("response_type") == "ephemeral" for c in notices)
        assert sim.open_sessions() == []
    finally:
        await db.dispose()
        await fake.stop()
        await sim_runner.cleanup()
