"""What `deskhand serve` loads: the Teams, Excel, Parquet, SCIM and simulator stacks only when
they are configured or used, Alembic only to migrate (bench/README.md "startup": they were
~65 MB of every process), the vendors' HTTP client only once a vendor is called, and the
capabilities' work (bot/capability.Work) only in a process that runs it.

Each case is a fresh interpreter that builds and starts the runtime the way `serve` does for its
listener (platforms attached, the HTTP app built; its work handed to worker processes as
bot/cli._worker_processes does, or run by itself: "alone") or for a worker process (platforms
attached to deliver only), with Slack configured, and prints sorted(sys.modules).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import migrate
from storage.db import Database
from tests.conftest import SECRET
from tests.fakes.slack_api import BOT_TOKEN
from tests.fakes.slack_api import SECRET as SIGNING_SECRET

START = """
import asyncio, json, sys
from bot import bootstrap

async def main(role: str) -> None:
    runtime = bootstrap.build_runtime(bootstrap.load(), listener=role != "worker")
    if role == "listener":
        runtime.inbox.consume = runtime.run_jobs = False  # the worker processes run the work
    if role == "worker":
        bootstrap.attach_platforms(runtime, listen=False)
    else:
        bootstrap.build_app(runtime)
    await runtime.start()
    try:
        print(json.dumps(sorted(sys.modules)))
    finally:
        await runtime.stop()

asyncio.run(main(sys.argv[1]))
"""
# Packages only a configured or used capability may load: Teams (botbuilder and its msal, azure
# and msrest), XLSX exports, Parquet snapshots, the SCIM server's models, vendor simulators;
# and Alembic (with Mako), which only running a migration needs.
OPTIONAL = ("botbuilder", "botframework", "msal", "azure", "msrest", "openpyxl", "pyarrow",
            "scim2_models", "alembic", "mako")
TEAMS = {"DESKHAND_TEAMS_APP_ID": "00000000-0000-0000-0000-0000000000aa",
         "DESKHAND_TEAMS_APP_PASSWORD": "app-password", "DESKHAND_TEAMS_TENANT_ID":
         "00000000-0000-0000-0000-0000000000bb"}


@pytest.fixture
async def migrated(tmp_path: Path) -> str:
    """A migrated database, as `deskhand serve` wants one (`deskhand db upgrade` ran before)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"
    db = Database(url)
    await migrate.upgrade(db.engine)
    await db.dispose()
    return url


def loaded(tmp_path: Path, migrated: str, role: str, **more: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env.update(DESKHAND_DATABASE_URL=migrated,
               DESKHAND_MODE="production", DESKHAND_SECRET_KEY=SECRET,
               DESKHAND_SLACK_SIGNING_SECRET=SIGNING_SECRET, DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN,
               DESKHAND_SLACK_API_URL="http://127.0.0.1:9/api/", DESKHAND_LOG_LEVEL="ERROR", **more)
    done = subprocess.run([sys.executable, "-c", START, role], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def optional_in(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in OPTIONAL}
                  | {m for m in modules if m.endswith(".simulator")})


@pytest.mark.parametrize("role", ["listener", "alone", "worker"])
def test_serve_without_teams_loads_no_optional_stack(tmp_path: Path, migrated: str,
                                                     role: str) -> None:
    modules = loaded(tmp_path, migrated, role)
    assert "slack_bolt" in modules and "handlers.scim" in modules  # what it serves is there
    assert optional_in(modules) == []
    assert "bot.manifests" not in modules  # the app manifests: only `deskhand manifest` builds them
    # httpx (~1.2 MiB) comes with the first vendor call (integrations/http.py): a listener whose
    # workers run the commands never makes one.
    assert "httpx" not in modules


@pytest.mark.parametrize("role", ["alone", "worker"])
def test_a_process_that_runs_work_loads_every_capability_s_work(tmp_path: Path, migrated: str,
                                                                role: str) -> None:
    modules = loaded(tmp_path, migrated, role)
    assert {"handlers.devices.work", "handlers.tokens.work", "integrations.tachyon.client"} \
        <= set(modules)


def test_a_listener_whose_workers_run_the_work_loads_none_of_it(tmp_path: Path,
                                                                migrated: str) -> None:
    """Its settings and routes only: the capabilities' commands, jobs, vendor clients and
    tables were ~6 MiB of the listener (bench/README.md, e2e: idle RSS)."""
    modules = loaded(tmp_path, migrated, "listener")
    assert "handlers.tokens" in modules and "handlers.remote.config" in modules
    work = [m for m in modules if m.startswith(("handlers.", "integrations."))
            and m.rsplit(".", 1)[-1] in ("work", "commands", "client", "sharing", "callback")]
    assert work == []
    assert not {"storage.tokens", "storage.remote", "storage.instructions"} & set(modules)


def test_teams_configured_loads_the_bot_framework(tmp_path: Path, migrated: str) -> None:
    modules = loaded(tmp_path, migrated, "listener", **TEAMS)
    assert "bot.platforms.teams.adapter" in modules
    assert {"botbuilder", "msal"} <= {m.split(".")[0] for m in modules}


def test_the_command_line_of_a_long_running_process_imports_no_other_command() -> None:
    """`serve` and `worker` run for days: the other commands' modules (the CLI's ~3 MiB, much of
    it the capabilities' code) stay out of them (bot/cli.PROCESSES)."""
    from bot import cli

    code = ("import json, sys; from bot import cli; "
            "print(cli.parser(commands=False).parse_args(['serve']).cmd); "
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    said, modules = done.stdout.splitlines()
    assert said == "serve"
    assert not set(cli.SUBCOMMANDS) & set(json.loads(modules))
    assert {"bot.admin_cli", "handlers.audit.cli"} <= {m.__name__ for m in cli.subcommands()}
