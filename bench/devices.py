"""Device-action benchmark: `/deskhand device lock <device>` through Slack's HTTP endpoint, beside
the bare Workspace ONE calls against the same simulator, in the same run.

What runs (all on 127.0.0.1, each its own process except the fake Slack and the bare client):
  simulator  `python -m integrations.workspace_one.simulator` (a Basic account + tenant code) with
             `--latency` added to every API call, its fleet seeded from the demo's inventory
  deskhand   `deskhand demo` (seeded SQLite) with Slack in HTTP mode and DESKHAND_WS1_* aimed at
             the simulator (the demo then runs no simulator of its own)
  fake Slack tests/fakes/slack_api.FakeSlack in this process: answers users.info and receives the
             response_url POST that carries the lock card, stamping its arrival
  bare       integrations.workspace_one.WorkspaceOneClient in this process, Basic auth, the
             production retry policy: what a script calling Workspace ONE directly would do

For each device in turn: deskhand's lock (clock from just before the signed slash command is
POSTed to /slack/events to the card's arrival at the fake Slack), then, on the same device, the
bare calls deskhand's lock makes: the lookup by serial number, the Lock command and, unless
--no-note, the device note; the bare Lock alone is timed too. deskhand adds = end to end minus
the bare calls, per percentile.

Goal (issue 15): deskhand adds under 50 ms p50 on top of the Workspace ONE calls.
Usage: python bench/devices.py [--commands 200] [--latency 0.1] [--warmup 5] [--no-note]
Exit status 0 when the goal passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
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

from handlers.device_actions.demo import platform_of_os  # noqa: E402
from integrations.workspace_one.actions import Action, applies  # noqa: E402
from integrations.workspace_one.auth import BasicAuth  # noqa: E402
from integrations.workspace_one.client import By, Command, WorkspaceOneClient  # noqa: E402
from integrations.workspace_one.models import WS1_PLATFORM, Platform  # noqa: E402
from tests.fakes.slack_api import (  # noqa: E402
    ALEX,
    BOT_TOKEN,
    SECRET,
    Call,
    FakeSlack,
    load,
    sign,
    trigger_id,
)

GOAL_MS = 50.0
ACCOUNT, PASSWORD, CODE = "bench-api", "bench-api-password-0001", "BENCHTENANT01"

Device = tuple[str, str, str, str]  # name, serial, OS, owner's email


def fleet(db: Path) -> list[Device]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name, serial, os, owner_email FROM devices ORDER BY name")
        return [(n, s or n, o or "", e or "") for n, s, o, e in rows.fetchall()]


def enrolled(devices: list[Device]) -> list[dict[str, str]]:
    """The simulator's `devices` control body: the demo's fleet, each on the platform of its OS
    as `deskhand demo` files it (phones and Linux machines included)."""
    return [{"name": n, "serial": s, "os": o, "email": e,
             "platform": WS1_PLATFORM[platform_of_os(o) or Platform.WINDOWS]}
            for n, s, o, e in devices]


def lockable(devices: list[Device]) -> list[Device]:
    """The devices a lock applies to (not the Linux machines): the ones the bench locks."""
    return [d for d in devices
            if applies(Action.LOCK, platform_of_os(d[2]) or Platform.WINDOWS)]


class Run:
    def __init__(self, deskhand: str, fake: FakeSlack, bare: WorkspaceOneClient, note: bool) -> None:
        self.deskhand, self.fake, self.bare, self.note = deskhand, fake, bare, note
        self.e2e: list[float] = []
        self.calls: list[float] = []  # the bare lookup + lock (+ note)
        self.locks: list[float] = []  # the bare Lock alone

    async def slash(self, http: aiohttp.ClientSession, text: str, name: str) -> tuple[float, Call]:
        payload = load("slash_command")
        payload.update(user_id=ALEX, user_name="alex", command="/deskhand", text=text,
                       response_url=self.fake.response_url(name), trigger_id=trigger_id())
        body = urlencode(payload)
        started = time.monotonic()
        async with http.post(f"{self.deskhand}/slack/events", data=body.encode(), headers={
                "Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}) as r:
            if r.status != 200:
                raise RuntimeError(f"/slack/events answered {r.status}: {await r.text()}")
        return started, await arrival(self.fake, f"/response/{name}")

    async def bare_lock(self, name: str, serial: str) -> tuple[float, float]:
        """(seconds for the calls deskhand's lock makes, seconds for the Lock alone)."""
        started = time.perf_counter()
        target = await self.bare.device(By.SERIAL, serial)
        if target is None:
            raise RuntimeError(f"the simulator does not know {name} ({serial})")
        sent = time.perf_counter()
        await self.bare.command(target, Command.LOCK)
        locked = time.perf_counter()
        if self.note:
            await self.bare.add_note(target, f"Lock by bench through a script ({name}).")
        return time.perf_counter() - started, locked - sent

    async def drive(self, devices: list[Device], warmup: int, commands: int) -> None:
        async with aiohttp.ClientSession() as http:
            if not self.note:
                _, call = await self.slash(http, "settings set device_note_after_action=off", "s")
                if "device_note_after_action: on → off" not in str(call.args.get("text")):
                    raise RuntimeError(f"the setting was not changed: {call.args.get('text')!r}")
            for i in range(warmup + commands):
                name, serial, _, _ = devices[i % len(devices)]
                started, call = await self.slash(http, f"device lock {name}", f"r{i}")
                if f"Lock: {name}" not in str(call.args.get("text")):
                    raise RuntimeError(f"command {i} got no lock card: {call.args.get('text')!r}")
                calls, lock = await self.bare_lock(name, serial)
                if i >= warmup:
                    self.e2e.append(call.at - started)
                    self.calls.append(calls)
                    self.locks.append(lock)


def row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"| {name} | {len(ms)} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | "
            f"{percentile(ms, 99):.1f} | {max(ms):.1f} |")


def added(e2e: list[float], base: list[float], p: float) -> float:
    return (percentile(e2e, p) - percentile(base, p)) * 1000


async def main_async(args: argparse.Namespace, work: Path) -> int:
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    sim_port, port = free_port(), free_port()
    sim_url, url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
    sim_argv = [str(VENV_BIN / "python"), "-m", "integrations.workspace_one.simulator",
                "--port", str(sim_port), "--account", f"{ACCOUNT}:{PASSWORD}:{CODE}",
                "--latency", str(args.latency)]
    env = clean_env(
        DESKHAND_WS1_URL=f"{sim_url}/api/", DESKHAND_WS1_USERNAME=ACCOUNT,
        DESKHAND_WS1_PASSWORD=PASSWORD, DESKHAND_WS1_TENANT_CODE=CODE,
        DESKHAND_SLACK_SIGNING_SECRET=SECRET, DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN,
        DESKHAND_SLACK_API_URL=f"{fake.url}/api/", DESKHAND_LOG_LEVEL="WARNING")
    bare = WorkspaceOneClient(f"{sim_url}/api/", BasicAuth(ACCOUNT, PASSWORD), tenant_code=CODE)
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
                answer = await c.post(f"{sim_url}/_control", json={"devices": enrolled(devices)})
                answer.raise_for_status()
            run = Run(url, fake, bare, note=not args.no_note)
            await run.drive(lockable(devices), args.warmup, args.commands)
    finally:
        await bare.aclose()
        await fake.stop()
    what = "lookup + Lock" + ("" if args.no_note else " + note")
    print(f"{args.commands} `device lock` commands, one at a time, after {args.warmup} warm-up; "
          f"simulator latency {args.latency * 1000:.0f} ms per call; device note "
          f"{'off' if args.no_note else 'on'}\n")
    print("| measured | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|--:|--:|--:|--:|--:|")
    print(row("deskhand: slash command -> card on response_url", run.e2e))
    print(row(f"bare client: {what} (deskhand's vendor calls)", run.calls))
    print(row("bare client: the Lock call alone", run.locks))
    add50, add95 = added(run.e2e, run.calls, 50), added(run.e2e, run.calls, 95)
    print(f"\ndeskhand adds {add50:.1f} ms at p50 and {add95:.1f} ms at p95 over its Workspace ONE "
          f"calls ({what}); {added(run.e2e, run.locks, 50):.1f} ms at p50 over the Lock alone")
    ok = add50 < GOAL_MS
    print(f"{'PASS' if ok else 'FAIL'} deskhand adds < {GOAL_MS:.0f} ms p50 ({add50:.1f} ms)")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--commands", type=int, default=200)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--latency", type=float, default=0.1, help="simulated vendor latency, seconds")
    p.add_argument("--no-note", action="store_true",
                   help="turn the tenant's device note off first (one vendor call fewer)")
    args = p.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory(prefix="bench-devices-") as tmp:
        return asyncio.run(main_async(args, Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
