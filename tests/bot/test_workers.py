"""`deskhand serve` with a worker process, as production runs it.

The listener acks signed slash commands and the worker, its child at a lower CPU priority, runs
them; a worker ignores a SIGTERM of its own (only its parent stops it), a worker killed with
SIGKILL is replaced and the next command still gets its card; SIGTERM stops the listener and its
worker. The listener's /metrics counts what its workers ran, and its /readyz is 503 with the reason
while no worker reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.downloads import Downloads
from tests.conftest import SECRET as KEY
from tests.conftest import LiveServer, free_port
from tests.fakes.slack_api import ALEX, BOT_TOKEN, SECRET, FakeSlack, SlackEnv
from tests.workflows.test_restart import prepare

DESKHAND = Path(sys.executable).parent / "deskhand"
METRICS_TOKEN = "metrics-token-0123456789"  # /metrics on the public listener wants it


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def until(what: str, check: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped counts as exited)."""
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


@contextmanager
def serve(tmp_path: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with open(tmp_path / "serve.log", "wb") as out:
        proc = subprocess.Popen([str(DESKHAND), "serve"], env=env, cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def listener_env(tmp_path: Path, fake: FakeSlack, port: int, **more: str) -> dict[str, str]:
    """`deskhand serve` in production with Slack and one worker process, on a migrated SQLite."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"
    await (await prepare(db_url)).dispose()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DESKHAND_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(DESKHAND_DATABASE_URL=db_url, DESKHAND_MODE="production", DESKHAND_SECRET_KEY=KEY,
               DESKHAND_TENANT="acme", DESKHAND_PORT=str(port), DESKHAND_WORKERS="1",
               DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}", DESKHAND_SLACK_SIGNING_SECRET=SECRET,
               DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN, DESKHAND_SLACK_API_URL=fake.url + "/api/",
               DESKHAND_METRICS_TOKEN=METRICS_TOKEN, PYTHONUNBUFFERED="1", **more)
    return env


async def readyz(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, str]]:
    """/readyz's status and body (0 while the listener does not answer yet)."""
    try:
        async with http.get(f"{url}/readyz") as resp:
            return resp.status, await resp.json()
    except aiohttp.ClientError:
        return 0, {}


async def until_ready(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes],
                      log: Path) -> dict[str, str]:
    """Wait (a generous bound) for /readyz 200, which with workers needs one to have reported."""
    deadline = time.monotonic() + 60
    while (found := await readyz(http, url))[0] != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(await asyncio.to_thread(log.read_text, errors="replace"))
        await asyncio.sleep(0.05)
    return found[1]


async def metric(http: aiohttp.ClientSession, url: str, line: str) -> float | None:
    """The value of one sample of the listener's /metrics (e.g. `name{labels}`), None if absent."""
    async with http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as resp:
        assert resp.status == 200
        text = await resp.text()
    families = [f.name for f in text_string_to_metric_families(text)]  # it parses, and
    assert len(families) == len(set(families))  # each family once, however many processes counted
    values = dict(row.rsplit(" ", 1) for row in text.splitlines() if not row.startswith("#"))
    return float(values[line]) if line in values else None


async def until_metric(http: aiohttp.ClientSession, url: str, line: str, value: float) -> None:
    deadline = time.monotonic() + 20
    while (found := await metric(http, url, line)) != value:
        assert time.monotonic() < deadline, f"{line} is {found}, not {value}"
        await asyncio.sleep(0.05)


async def test_serve_hands_commands_to_a_worker_process_and_replaces_a_dead_one(tmp_path: Path) -> None:
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    port = free_port()
    temp = tmp_path / "tmp"  # where the listener makes its children's metrics directory
    temp.mkdir()
    env = await listener_env(tmp_path, fake, port, TMPDIR=str(temp))
    log = tmp_path / "serve.log"
    try:
        with serve(tmp_path, env) as proc:
            async with aiohttp.ClientSession() as http:
                slack = SlackEnv(fake, LiveServer(None, f"http://127.0.0.1:{port}"), http)  # type: ignore[arg-type]
                url = slack.server.url
                assert await until_ready(http, url, proc, log) == {
                    "status": "ready", "database": "ok", "workers": "ok"}
                await until("the worker process", lambda: children(proc.pid))
                (worker,) = children(proc.pid)
                nice = os.getpriority(os.PRIO_PROCESS, proc.pid) + 10  # DESKHAND_WORKER_NICE's default
                await until("the worker's lower priority",
                            lambda: os.getpriority(os.PRIO_PROCESS, worker) == nice)

                status, _, _ = await slack.command(ALEX, "/devices", "", response="one")
                assert status == 200
                (card,) = await fake.wait_for("response_url", 1, seconds=20)
                assert card.path == "/response/one" and "Devices" in str(card.args)
                # The worker ran it and counted it; the listener's /metrics shows its count.
                ran = 'deskhand_commands_total{command="devices",outcome="ok"}'
                await until_metric(http, url, ran, 1.0)
                assert await metric(http, url, 'deskhand_command_seconds_count{command="devices"}') == 1
                assert await metric(http, url, "deskhand_worker_processes") == 1
                # The row goes a moment after the card (its deferred work runs first).
                await until_metric(http, url, "deskhand_inbox_running", 0.0)
                assert await metric(http, url, "deskhand_inbox_queued") == 0

                os.kill(worker, signal.SIGTERM)  # as systemd's stop reaches the whole group
                await asyncio.sleep(0.5)
                assert children(proc.pid) == [worker]  # only its parent stops a worker

                os.kill(worker, signal.SIGKILL)
                await until("a new worker", lambda: children(proc.pid) not in ([], [worker]))
                status, _, _ = await slack.command(ALEX, "/devices", "", response="two")
                assert status == 200
                calls = await fake.wait_for("response_url", 2, seconds=30)
                assert calls[1].path == "/response/two" and "Devices" in str(calls[1].args)
                await until_metric(http, url, ran, 2.0)  # the dead worker's count is kept
                (metrics_dir,) = temp.iterdir()
                assert metrics_dir.name.startswith("deskhand-metrics-")
                assert metrics_dir.stat().st_mode & 0o077 == 0  # the listener's alone
                (replacement,) = children(proc.pid)
            proc.send_signal(signal.SIGTERM)
            await until("serve to stop", lambda: proc.poll() is not None)
            assert proc.returncode == 0, log.read_bytes()
            assert gone(replacement)
            assert not list(temp.iterdir())  # removed at exit
            assert b"exited with -9" in log.read_bytes()  # the supervisor said what happened
    finally:
        await fake.stop()


async def test_the_listener_serves_capability_routes_and_links_it_runs_no_command_for(
        tmp_path: Path) -> None:
    """The listener leaves the capabilities' work to its workers and imports it on the first
    request of its own that needs it (bot/capability.Deferred): a SCIM call, a Delta Sharing
    call and a download link are answered by their capabilities, not refused as unknown."""
    fake = FakeSlack()
    await fake.start(free_port())
    port = free_port()
    env = await listener_env(tmp_path, fake, port)
    log = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    link = Downloads([KEY], url).sign("audit.csv", {"t": 1, "p": 999, "f": {}})
    try:
        with serve(tmp_path, env) as proc:
            async with aiohttp.ClientSession() as http:
                await until_ready(http, url, proc, log)
                answers = await asyncio.gather(  # together: they wait for one import
                    http.get(f"{url}/scim/v2/Users"), http.get(f"{url}/sharing/shares"),
                    http.get(f"{url}/downloads/{link}"))
                scim, sharing, download = answers
                assert scim.status == 401 and "scim" in (await scim.json())["schemas"][0].lower()
                assert sharing.status == 401 and "errorCode" in await sharing.json()
                # Signed for someone the directory does not hold: the audit capability refuses it.
                assert download.status == 403 and "download refused" in await download.text()
                for answer in answers:
                    answer.release()
            proc.send_signal(signal.SIGTERM)
            await until("serve to stop", lambda: proc.poll() is not None)
            assert proc.returncode == 0, log.read_bytes()
    finally:
        await fake.stop()


async def test_readyz_is_503_with_the_reason_while_no_worker_reports(tmp_path: Path) -> None:
    """Kill the worker, and its replacements as they appear (the supervisor's backoff grows), until
    /readyz says no worker reported; then let one start: the listener is ready again."""
    fake = FakeSlack()
    await fake.start(free_port())
    port = free_port()
    env = await listener_env(tmp_path, fake, port, DESKHAND_WORKER_HEARTBEAT="1",
                             DESKHAND_WORKER_STALE_AFTER="2")
    log = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    try:
        with serve(tmp_path, env) as proc:
            async with aiohttp.ClientSession() as http:
                await until_ready(http, url, proc, log)
                killed: set[int] = set()
                deadline = time.monotonic() + 60
                while (found := await readyz(http, url))[0] != 503:
                    assert time.monotonic() < deadline, log.read_bytes()
                    for worker in children(proc.pid):
                        with contextlib.suppress(ProcessLookupError):  # reaped meanwhile
                            os.kill(worker, signal.SIGKILL)
                        killed.add(worker)
                    await asyncio.sleep(0.02)
                assert killed
                assert found[1]["status"] == "unavailable" and found[1]["database"] == "ok"
                assert found[1]["workers"].startswith(
                    "no worker process has reported in the last 2 s (the last report was ")
                age = await metric(http, url, "deskhand_worker_heartbeat_age_seconds")
                assert age is not None and age > 2  # what /readyz said, in figures

                # No more kills: the supervisor's next worker reports, and the listener is ready.
                assert await until_ready(http, url, proc, log) == {
                    "status": "ready", "database": "ok", "workers": "ok"}
                assert children(proc.pid) and not killed & set(children(proc.pid))
                age = await metric(http, url, "deskhand_worker_heartbeat_age_seconds")
                assert age is not None and math.isfinite(age)  # some worker has reported
            assert b"exited with -9" in log.read_bytes()
    finally:
        await fake.stop()
