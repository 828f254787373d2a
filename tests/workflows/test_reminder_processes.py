"""Each reminder is posted exactly once when two deskhand processes sweep one PostgreSQL at the
same moment, and not again by a process started later."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.handlers.reminders_kit import T0, add_certificate, add_token, claims, started

ROOT = Path(__file__).resolve().parents[2]
TOKENS = 60


async def sweeper(url: str, now: str, start: float) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.workflows.reminder_sweeper", url, now, str(start), cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


@pytest.mark.postgres
async def test_two_processes_on_one_postgresql_post_each_reminder_once(pg_url: str) -> None:
    async with started(pg_url) as rt:
        ids = [await add_token(rt, f"token-{n}", T0 + timedelta(days=13, minutes=n))
               for n in range(TOKENS)]
        cert = await add_certificate(rt, "AB" * 20, T0 + timedelta(days=6))
    now = T0.isoformat()
    start = time.time() + 6  # both are connected and waiting by then
    first, second = await asyncio.gather(sweeper(pg_url, now, start), sweeper(pg_url, now, start))
    assert first["posted"] + second["posted"] == TOKENS + 1
    titles = first["titles"] + second["titles"]
    assert sorted(t for t in titles if "token-" in t) == sorted(
        f"Your data-access token token-{n} expires in 14 days" for n in range(TOKENS))
    assert titles.count("deskhand's identity-provider certificate expires in 7 days") == 1
    later = await sweeper(pg_url, (T0 + timedelta(hours=1)).isoformat(), 0)  # a restart
    assert later["posted"] == 0
    async with started(pg_url, upgrade=False) as rt:
        assert await claims(rt) == sorted([("certificate", cert, 7),
                                           *(("token", i, 14) for i in ids)])
