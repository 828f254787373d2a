"""Every start-up problem is one line on stderr, `deskhand: <problem>; <what to do>`, and exit 2,
with no traceback (bot/startup.py): `deskhand` run as a process for each problem."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.bot.test_cli import Result, run
from tests.bot.test_cli import _env as cli_env
from tests.conftest import free_port, sqlite_url
from tests.workflows.test_restart import prepare

DB_HINT = "check DESKHAND_DATABASE_URL and that the database server is running and reachable from here"


def _env(url: str, **extra: str) -> dict[str, str]:
    """Each `serve` on a port of its own: a problem found is the one the call is about."""
    return cli_env(url, **{"DESKHAND_PORT": str(free_port()), **extra})


def one_line(result: Result) -> str:
    assert result.code == 2, result
    assert result.out == "" and result.err.endswith("\n") and result.err.count("\n") == 1, result
    assert result.err.startswith("deskhand: ")
    return result.err.strip().removeprefix("deskhand: ")


def test_each_start_up_problem_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    asyncio.run(_migrated(url))
    fresh = sqlite_url(tmp_path / "fresh")
    no_key = {k: v for k, v in _env(url).items() if k != "DESKHAND_SECRET_KEY"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        results = run(
            (no_key, ["serve"]),
            (no_key, ["worker"]),
            (_env(fresh), ["serve"]),
            (_env("postgresql+asyncpg://postgres@127.0.0.1:1/deskhand"), ["serve"]),
            (_env("postgresql+asyncpg://postgres@127.0.0.1:5432/no_such_deskhand_db"),
             ["rbac", "list"]),
            (_env("postgresql+asyncpg://deskhand:s3cret@db.internal:54x2/deskhand"), ["serve"]),
            (_env(url, DESKHAND_PORT=str(port)), ["serve"]),
            (_env(url, DESKHAND_WORKERS="99"), ["serve"]),
            (_env(url), ["demo", "--data-dir", "/proc/deskhand"]),
            (_env(url, DESKHAND_METRICS_PORT=str(port)), ["serve"]),
            (_env(url, DESKHAND_METRICS_TOKEN="short"), ["serve"]),
            cwd=tmp_path, timeout=300)  # eleven Python start-ups at once on a small machine
    lines = [one_line(r) for r in results]
    key = ("DESKHAND_SECRET_KEY is not set (it encrypts integration secrets and signs download "
           "links); set it to a long random value")
    assert lines[0].startswith(key) and lines[1].startswith(key)
    assert lines[2] == ("the database has no deskhand schema yet; run `deskhand db upgrade` (with "
                        "this release), then start again")
    assert lines[3].startswith("cannot use the database postgresql+asyncpg://postgres@127.0.0.1:1/"
                               "deskhand: [Errno 111] ")
    assert lines[3].endswith(f"; {DB_HINT}")
    assert lines[4] == ("cannot use the database postgresql+asyncpg://postgres@127.0.0.1:5432/"
                        f'no_such_deskhand_db: database "no_such_deskhand_db" does not exist; {DB_HINT}')
    assert lines[5] == ("DESKHAND_DATABASE_URL: is not a valid URL: check the port is a number and "
                        "that special characters in the password are percent-encoded (@ as %40)")
    assert lines[6] == (f"port {port} on 127.0.0.1 is already in use; stop what listens there or "
                        "set DESKHAND_PORT to a free port")
    assert lines[7] == "DESKHAND_WORKERS: Input should be less than or equal to 32"
    assert lines[8] == ("cannot use the demo's folder /proc/deskhand (No such file or directory); "
                        "pass --data-dir a folder this user may write")
    assert lines[9] == (f"port {port} on 127.0.0.1 is already in use; stop what listens there or "
                        "set DESKHAND_METRICS_PORT to a free port")
    assert lines[10] == ("DESKHAND_METRICS_TOKEN: must be at least 16 characters (e.g. from "
                         "`openssl rand -hex 32`)")


async def _migrated(url: str) -> None:
    await (await prepare(url)).dispose()
