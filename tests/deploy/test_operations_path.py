"""docs/operations.md's path without containers, followed as an operator would, on a fresh
PostgreSQL database.

The example configuration file is copied and filled in (database URL, port, secret key, Slack's
credentials); the doc's steps run as separate processes in their order (`deskhand db upgrade`,
`deskhand rbac bootstrap-admin ...`, then `deskhand serve` as the Dockerfile's CMD has it, with
the example's worker processes); `/readyz` turns 200 and the Dockerfile's HEALTHCHECK command
says healthy; the first administrator's signed Slack command is answered. The Dockerfile and
compose.yaml are checked to run these same commands in tests/deploy/test_deploy_files.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import aiohttp
import pytest

from tests.bot.test_workers import until, until_ready
from tests.conftest import SECRET as KEY
from tests.conftest import LiveServer, create_pg_database, drop_pg_database, free_port
from tests.deploy.files import EXAMPLE, doc_steps, docker_cmd, docker_healthcheck, fill
from tests.fakes.slack_api import ALEX, BOT_TOKEN, SECRET, FakeSlack, SlackEnv

BIN = Path(sys.executable).parent


def operator_env(config: Path) -> dict[str, str]:
    """The machine's environment with none of the test run's DESKHAND_* settings: only the file."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DESKHAND_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(DESKHAND_CONFIG=str(config), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               PYTHONUNBUFFERED="1")
    return env


def run(step: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(step, env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{' '.join(step)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def start(step: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(step, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def healthy(env: dict[str, str], port: int) -> bool:
    """The Dockerfile's HEALTHCHECK command, as the container runtime runs it."""
    return subprocess.run(docker_healthcheck(), env={**env, "DESKHAND_PORT": str(port)},
                          capture_output=True, timeout=30).returncode == 0


@pytest.mark.postgres
async def test_the_documented_path_serves_a_signed_slack_command(tmp_path: Path) -> None:
    exports, steps = doc_steps()
    assert [s[:3] for s in steps] == [["deskhand", "db", "upgrade"],
                                      ["deskhand", "rbac", "bootstrap-admin"], ["deskhand", "serve"]]
    assert steps[-1] == docker_cmd()  # the container's command is the doc's last step
    admin = steps[1][3]
    name, url = await create_pg_database()
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, admin)
    port = free_port()
    config = tmp_path / "deskhand.toml"
    config.write_text(fill(EXAMPLE.read_text(), {
        "database_url": url, "secret_key": KEY, "public_url": f"http://127.0.0.1:{port}",
        "port": port, "slack_signing_secret": SECRET, "slack_bot_token": BOT_TOKEN,
        "slack_api_url": fake.url + "/api/"}))
    workers = tomllib.loads(config.read_text())["workers"]
    assert workers >= 1 and set(exports) == {"DESKHAND_CONFIG"}
    env = operator_env(config)
    log = tmp_path / "serve.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        assert "schema revision:" in await asyncio.to_thread(run, steps[0], env, tmp_path)
        await asyncio.to_thread(run, steps[1], env, tmp_path)
        proc = start(steps[2], env, tmp_path, log)
        server = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            ready = await until_ready(http, server, proc, log)
            assert ready == {"status": "ready", "database": "ok", "workers": "ok"}
            assert await asyncio.to_thread(healthy, env, port)

            slack = SlackEnv(fake, LiveServer(None, server), http)  # type: ignore[arg-type]
            status, _, _ = await slack.command(ALEX, "/deskhand", "whoami", response="first")
            assert status == 200
            (answer,) = await fake.wait_for("response_url", 1, seconds=30)
            assert answer.path == "/response/first"
            assert "Full Administrator" in str(answer.args) and admin in str(answer.args)
        proc.send_signal(signal.SIGTERM)
        await until("serve to stop", lambda: proc is not None and proc.poll() is not None, 30)
        assert proc.returncode == 0, log.read_text(errors="replace")
        assert not await asyncio.to_thread(healthy, env, port)  # nothing answers: unhealthy
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await fake.stop()
        await drop_pg_database(name)
        await asyncio.sleep(0)
    assert "Traceback" not in log.read_text(errors="replace")
