"""A request delivered twice runs once: after a restart, on another process, on every platform.

The replay key (Slack's trigger or event id, the Bot Framework's activity id) is stored in the
database with the request, so the record is shared by every process and outlives a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storage.audit import AuditRepo
from tests.conftest import SECRET as KEY
from tests.conftest import free_port, make_settings, sqlite_url, start_server
from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand
from tests.fakes.slack_api import ALEX, BOT_TOKEN, FORM, SECRET, FakeSlack, sign, slack_env
from tests.workflows.test_restart import prepare

DESKHAND = Path(sys.executable).parent / "deskhand"


async def post(url: str, body: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.post(
            f"{url}/slack/events", data=body, headers={"Content-Type": FORM, **headers}) as r:
        return r.status


async def whoami_rows(runtime: Any) -> int:
    async with runtime.db.uow() as uow:
        events = await uow.repo(AuditRepo).query(runtime.tenant_id, limit=1000)
    return sum(1 for e in events if e.kind == "command" and e.action == "whoami")


async def test_a_slack_replay_after_a_restart_does_not_run(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        body = env.command_body(ALEX, "/deskhand", "whoami", response="first")
        headers = sign(env.secret, body)
        assert await post(env.server.url, body, headers) == 200
        await env.idle()
        settings = env.server.runtime.settings
    # A new process on the same database, inside Slack's five-minute window.
    fake = FakeSlack()
    await fake.start(free_port())
    try:
        port = free_port()
        again = make_settings(sqlite_url(tmp_path), port=port, slack_signing_secret=SECRET,
                              slack_bot_token=BOT_TOKEN, slack_api_url=fake.url + "/api/",
                              public_url=f"http://127.0.0.1:{port}")
        assert again.database_url == settings.database_url
        runner, live = await start_server(again)
        try:
            assert await post(live.url, body, headers) == 200  # acked...
            await asyncio.sleep(0.5)
            assert await live.runtime.platforms["slack"].wait_idle(10)
            assert fake.called("response_url") == [] and fake.called("users.info") == []
            assert await whoami_rows(live.runtime) == 1  # ...and not run again
        finally:
            await runner.cleanup()
    finally:
        await fake.stop()


@contextlib.contextmanager
def serve(tmp_path: Path, name: str, env: dict[str, str],
          deskhand: list[str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`deskhand serve` (or another `deskhand` command line's), logging to tmp_path/<name>.log."""
    with open(tmp_path / f"{name}.log", "wb") as out:
        proc = subprocess.Popen([*(deskhand or [str(DESKHAND)]), "serve"], env=env, cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def logged(log: Path) -> bytes:
    return log.read_bytes()


async def ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, logged(log)
            await asyncio.sleep(0.1)


@pytest.mark.postgres
async def test_a_slack_replay_to_a_second_process_on_postgresql_does_not_run(
        tmp_path: Path, pg_url: str) -> None:
    db = await prepare(pg_url)
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    ports = free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    base.update(DESKHAND_DATABASE_URL=pg_url, DESKHAND_MODE="production", DESKHAND_SECRET_KEY=KEY,
                DESKHAND_TENANT="acme", DESKHAND_WORKERS="0", DESKHAND_SLACK_SIGNING_SECRET=SECRET,
                DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN, DESKHAND_SLACK_API_URL=fake.url + "/api/",
                PYTHONUNBUFFERED="1")
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        with serve(tmp_path, "a", {**base, "DESKHAND_PORT": str(ports[0]),
                                   "DESKHAND_PUBLIC_URL": urls[0]}) as a, \
                serve(tmp_path, "b", {**base, "DESKHAND_PORT": str(ports[1]),
                                      "DESKHAND_PUBLIC_URL": urls[1]}) as b:
            await ready(urls[0], a, tmp_path / "a.log")
            await ready(urls[1], b, tmp_path / "b.log")
            from urllib.parse import urlencode

            from tests.fakes.slack_api import load, trigger_id
            command = load("slash_command")
            command.update(user_id=ALEX, user_name="alex", command="/deskhand", text="whoami",
                           response_url=fake.response_url("once"), trigger_id=trigger_id())
            body = urlencode(command)
            headers = sign(SECRET, body)
            assert await post(urls[0], body, headers) == 200
            assert await post(urls[1], body, headers) == 200  # the same request, to a replica
            await fake.wait_for("response_url", 1, seconds=20)
            await asyncio.sleep(1.5)  # time enough for a second run to show
            assert len(fake.called("response_url")) == 1
            async with db.uow() as uow:
                events = await uow.repo(AuditRepo).query(1, limit=1000)
            assert sum(1 for e in events if e.action == "whoami") == 1
    finally:
        await fake.stop()
        await db.dispose()


@pytest.fixture
def teams_fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(TEAMS_ALEX)
    yield fake
    fake.stop()


@contextlib.asynccontextmanager
async def teams(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Any]:
    async with teams_deskhand(tmp_path, fake) as live:
        yield live


async def test_a_teams_activity_delivered_twice_runs_once(tmp_path: Path,
                                                          teams_fake: FakeBotFramework) -> None:
    fake = teams_fake
    async with teams(tmp_path, fake) as live:
        message = fake.activity("message_personal", TEAMS_ALEX, text="whoami")
        assert (await fake.send(live.url, message))[0] == 201
        assert (await fake.send(live.url, message))[0] == 201  # Teams redelivers the same id
        await fake.wait_for("send", count=1)
        assert await live.runtime.inbox.wait_idle(10)
        await asyncio.sleep(0.5)
        assert len(fake.posted()) == 1 and await whoami_rows(live.runtime) == 1

        status, _ = await fake.send(live.url, fake.activity("message_personal", TEAMS_ALEX,
                                                           text="role grant Auditor to nina.new@example.com"))
        assert status == 201
        [granted] = [c for c in await fake.wait_for("send", count=2) if "Auditor granted" in str(c.body)]
        revoke = next(a for a in granted.cards[0]["body"][-1]["actions"] if a["title"] == "Revoke")
        inner = revoke.get("card", {}).get("actions", [revoke])[0]
        invoke = fake.activity("invoke_action_execute", TEAMS_ALEX, replyToId=granted.response_id)
        invoke["value"]["action"].update(verb=inner["verb"], data=inner["data"])
        first = await fake.send(live.url, invoke)
        second = await fake.send(live.url, invoke)  # the same invoke again
        assert first[0] == second[0] == 200
        assert "already handled" in second[1]["value"]
        async with live.runtime.db.uow() as uow:
            events = await uow.repo(AuditRepo).query(live.runtime.tenant_id, limit=1000)
        assert sum(1 for e in events if e.kind == "interaction" and e.action == "role.revoke") == 1
