"""Remote-session benchmark: `/remote <device>` through Slack's HTTP endpoint, end to end.

What runs (all on 127.0.0.1, each its own process except the fake Slack):
  simulator  `python -m integrations.teamviewer.simulator` with `--latency` added to every call
  deskhand   `deskhand demo` (seeded SQLite) with Slack in HTTP mode and TeamViewer aimed at the
             simulator by DESKHAND_TEAMVIEWER_URL + a script token
  fake Slack tests/fakes/slack_api.FakeSlack in this process: answers users.info and receives the
             response_url POST that carries the session card, stamping its arrival

Per command the clock starts just before the signed slash command is POSTed to /slack/events and
stops when the fake Slack receives the card on the command's response_url. The simulator's own
create-session time (inside its handler, injected latency included) is read from its /_control
after the run. deskhand's share = end-to-end minus the simulator's create time, per percentile.

Goal (issue 4): deskhand adds under 50 ms p50 on top of the vendor call.
Usage: python bench/remote.py [--commands 200] [--latency 0.1] [--warmup 5]
Exit status 0 when the goal passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import (  # noqa: E402  (bench/ is not a package: import the sibling by path)
    VENV_BIN,
    arrival,
    clean_env,
    free_port,
    percentile,
    print_machine,
    spawn,
    wait_ready,
)

from tests.fakes.slack_api import (  # noqa: E402
    ALEX,
    BOT_TOKEN,
    SECRET,
    FakeSlack,
    load,
    sign,
    trigger_id,
)

GOAL_MS = 50.0
SCRIPT_TOKEN = "1234567-BenchScriptToken0001"


def fleet(db: Path) -> list[tuple[str, bool]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name, attributes FROM devices ORDER BY name").fetchall()
    return [(name, bool(json.loads(attrs or "{}").get("teamviewer_full_client", True)))
            for name, attrs in rows]


async def drive(deskhand: str, sim: str, fake: FakeSlack, devices: list[str], warmup: int,
                commands: int) -> tuple[list[float], list[float]]:
    """Send the commands one at a time; returns (end-to-end seconds, simulator create seconds)."""
    e2e: list[float] = []
    async with aiohttp.ClientSession() as http:
        for i in range(warmup + commands):
            payload = load("slash_command")
            payload.update(user_id=ALEX, user_name="alex", command="/remote",
                           text=f"{devices[i % len(devices)]} for INC{i:07d}",
                           response_url=fake.response_url(f"r{i}"),
                           trigger_id=trigger_id())  # one per command: a reused one is a replay
            body = urlencode(payload)
            if i == warmup:
                async with httpx.AsyncClient() as c:  # measure only the timed commands
                    await c.post(f"{sim}/_control", json={"reset_stats": True})
            started = time.monotonic()
            async with http.post(f"{deskhand}/slack/events", data=body.encode(), headers={
                    "Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}) as r:
                if r.status != 200:
                    raise RuntimeError(f"/slack/events answered {r.status}: {await r.text()}")
            call = await arrival(fake, f"/response/r{i}")
            if "Remote session on" not in str(call.args.get("text")):
                raise RuntimeError(f"command {i} got no session card: {call.args.get('text')!r}")
            if i >= warmup:
                e2e.append(call.at - started)
    async with httpx.AsyncClient() as c:
        state = (await c.get(f"{sim}/_control")).json()
    return e2e, list(state["create_seconds"])


def row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"| {name} | {len(ms)} | {percentile(ms, 50):.1f} | {percentile(ms, 90):.1f} | "
            f"{percentile(ms, 99):.1f} | {max(ms):.1f} |")


async def main_async(args: argparse.Namespace, work: Path) -> int:
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    sim_port, port = free_port(), free_port()
    sim_url, url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
    python = str(VENV_BIN / "python")
    sim_argv = [python, "-m", "integrations.teamviewer.simulator", "--port", str(sim_port),
                "--token", SCRIPT_TOKEN, "--latency", str(args.latency)]
    env = clean_env(
        DESKHAND_TEAMVIEWER_URL=f"{sim_url}/api/v1/", DESKHAND_TEAMVIEWER_API_TOKEN=SCRIPT_TOKEN,
        DESKHAND_SLACK_SIGNING_SECRET=SECRET, DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN,
        DESKHAND_SLACK_API_URL=f"{fake.url}/api/", DESKHAND_LOG_LEVEL="WARNING")
    try:
        with spawn(sim_argv, clean_env(), work) as sim, \
                spawn([str(VENV_BIN / "deskhand"), "demo", "--data-dir", str(work / "data"),
                       "--port", str(port)], env, work) as bot:
            started = time.perf_counter()
            await asyncio.to_thread(wait_ready, sim, f"{sim_url}/_control", started)
            await asyncio.to_thread(wait_ready, bot, f"{url}/readyz", started)
            await asyncio.sleep(0.5)  # the demo seeds right after it is ready
            devices = fleet(work / "data" / "deskhand.db")
            async with httpx.AsyncClient() as c:
                await c.post(f"{sim_url}/_control", json={
                    "devices": [{"name": n, "full_client": f} for n, f in devices]})
            e2e, creates = await drive(url, sim_url, fake, [n for n, _ in devices], args.warmup,
                                       args.commands)
    finally:
        await fake.stop()
    print(f"{args.commands} `/remote` commands, one at a time, after {args.warmup} warm-up; "
          f"simulator latency {args.latency * 1000:.0f} ms per call\n")
    print("| measured | n | p50 ms | p90 ms | p99 ms | max ms |\n|---|--:|--:|--:|--:|--:|")
    print(row("end to end (slash command -> card on response_url)", e2e))
    print(row("simulator create-session (inside its handler)", creates))
    added50 = (percentile(e2e, 50) - percentile(creates, 50)) * 1000
    added99 = (percentile(e2e, 99) - percentile(creates, 99)) * 1000
    print(f"\ndeskhand adds {added50:.1f} ms at p50 and {added99:.1f} ms at p99")
    ok = added50 < GOAL_MS
    print(f"{'PASS' if ok else 'FAIL'} deskhand adds < {GOAL_MS:.0f} ms p50 ({added50:.1f} ms)")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--commands", type=int, default=200)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--latency", type=float, default=0.1, help="simulated vendor latency, seconds")
    args = p.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        return asyncio.run(main_async(args, Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
