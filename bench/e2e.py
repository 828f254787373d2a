"""End-to-end command benchmark (issue 18): signed `/deskhand devices` (or `help`) at steady
offered rates, deskhand beside a bare slack-bolt app posting the same card, in the same run.

All on 127.0.0.1, one process each (this script only generates load): the fake Slack
(bench/slack_ack.FAKE_APP); `deskhand serve` (production mode, DESKHAND_WORKERS=1) on a migrated,
demo-seeded SQLite file or scratch PostgreSQL database, its Slack Web API aimed at the fake, Teams
unconfigured; `bare`, a slack-bolt AsyncApp (bolt's defaults) whose /deskhand listener acks and
posts with respond() the card deskhand posted for the same person and command (captured from the
fake during deskhand's warm-up). At rest, first: idle CPU per second (schedstat) and idle VmRSS of
each process. Then per offered rate, command and target: --seconds of commands, open loop, from
alex.admin and sam.standard in turn, each with its own response_url; every card is awaited before
the next round. Measured: completed commands/s while loaded (cards arrived between the first and
the last POST), command -> card p50/p99 (POST to the fake's arrival stamp), CPU ms per command of
the target's process tree (/proc/<pid>/stat; on PostgreSQL plus the server processes of
deskhand's database: SQLite's work runs inside deskhand's own). The audit log must end with one
`command/<command>/ok` row per command sent to deskhand. bench/README.md (e2e) has the details.

Goals (issue 18): CPU per command < 4 ms at every rate (devices and help); >= 250 completed
commands/s with one worker; p99 command -> card < 500 ms at 150/s; idle CPU < 0.5 ms per second;
idle RSS of serve (the listener) < 95 MiB with Teams unconfigured.
Usage: python bench/e2e.py [--backend sqlite|postgresql|both] [--command devices[,help]]
       [--rates 20,75,100,150,250,300] [--seconds 10] [--settle 90] [--idle-seconds 60]
       [--warmup 20] [--quick]
Exit status 0 when every goal passes for every backend and command, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import (  # noqa: E402  (bench/ is not a package: import the siblings by path)
    Proc,
    clean_env,
    cpu_ns,
    cpu_s,
    descendants,
    free_port,
    loadavg,
    print_machine,
    schedstat,
    spawn,
    tree_cpu_s,
    tree_schedstat,
    vmrss_mib,
    wait_ready,
)
from _e2e_report import Figures, Round, report  # noqa: E402
from slack_ack import FAKE_APP, USERS, Request, Target, cards, requests, send  # noqa: E402
from startup import deskhand, pg_count, prepare  # noqa: E402

from tests.conftest import create_pg_database, drop_pg_database  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SECRET  # noqa: E402

EXPECT = {"devices": "Devices", "help": "What you can do"}  # how each card's text starts
# What respond() takes; the rest of a response_url body (none today) would make it raise.
RESPOND_KEYS = ("text", "blocks", "attachments", "response_type", "replace_original",
                "delete_original", "unfurl_links", "unfurl_media", "thread_ts", "metadata")

# The baseline: bolt's own aiohttp server, same secret and token; its listener acks, then posts
# deskhand's card for that person and command. The cards file is written once they are captured.
BARE_APP = """
import json, sys
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

port, secret, token, api, cards_file = int(sys.argv[1]), *sys.argv[2:6]
app = AsyncApp(signing_secret=secret, client=AsyncWebClient(token=token, base_url=api))
cards = {}

@app.command("/deskhand")
async def deskhand(ack, command, respond):
    await ack()
    if not cards:
        with open(cards_file) as f:
            cards.update(json.load(f))
    await respond(**cards[command["text"]][command["user_id"]])
async def readyz(request):
    return web.json_response({"status": "ready"})
web_app = app.web_app(path="/slack/events")
web_app.router.add_get("/readyz", readyz)
web.run_app(web_app, host="127.0.0.1", port=port, print=None, access_log=None)
"""


def processes(pid: int) -> dict[str, int]:
    """The listener and its children by a short name (`deskhand worker` processes)."""
    named = {"listener": pid}
    for i, child in enumerate(descendants(pid), 1):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        named[f"{'worker' if b'worker' in argv else 'child'} {i}"] = child
    return named


@contextmanager
def tail_on_error(proc: Proc) -> Iterator[None]:
    """Show what deskhand (listener and worker) logged when the run fails."""
    try:
        yield
    except BaseException:
        print(f"deskhand's log, last lines:\n{proc.log_tail(40)}", file=sys.stderr)
        raise


def pg_backends(db: str | None) -> list[int]:
    """PostgreSQL's server processes for database `db` (their title names it): the database's
    share of a command's CPU, which SQLite spends inside deskhand's own processes."""
    found = []
    for entry in Path("/proc").iterdir() if db else ():
        try:
            title = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue  # ended meanwhile
        if title.startswith(b"postgres: ") and f" {db} ".encode() in title:
            found.append(int(entry.name))
    return found


def grown(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the processes used between two readings (pid -> CPU); ones started since count whole."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


# The idle window's baseline for what a wake-up costs on this machine: an asyncio process, as
# deskhand's are, that wakes once a second and does nothing. Where the CPU sleeps deeply between
# wakes (a VM's idle vCPU) a wake costs far more than the same work done busy, and idle CPU is then
# mostly the number of wakes (the sleeper's CPU over its own wakes, both from schedstat).
SLEEPER = ("import asyncio\nasync def rest():\n    while True:\n        await asyncio.sleep(1)\n"
           "asyncio.run(rest())")


@dataclass
class Idle:
    cpu_ms_s: float  # PostgreSQL's server processes for deskhand's database included
    wakes_s: float  # times any thread of the process tree was scheduled in, per second
    rss: dict[str, float]  # peak VmRSS MiB per process


async def idle(targets: list[Target], db: str | None, seconds: float,
               work: Path) -> tuple[list[Idle], float]:
    """Each target's figures, all at rest together (deskhand's, the first, with PostgreSQL's
    processes for its database `db`), and the sleeper's CPU ms per wake in the same window."""
    with spawn([sys.executable, "-c", SLEEPER], clean_env(), work) as sleeper:
        await asyncio.sleep(1.5)  # its start-up is not a wake
        pids = [t.pid for t in targets]
        before = [tree_schedstat(p) for p in pids]
        sleeper_before = schedstat(sleeper.pid)
        db_before = {pid: float(cpu_ns(pid)) for pid in pg_backends(db)}
        peaks: list[dict[str, float]] = [{} for _ in targets]
        end = time.monotonic() + seconds
        while True:
            for t, peak in zip(targets, peaks, strict=True):
                for name, pid in processes(t.pid).items():
                    peak[name] = max(peak.get(name, 0.0), vmrss_mib(pid))
            if time.monotonic() >= end:
                break
            await asyncio.sleep(min(0.5, end - time.monotonic()))
        after = [tree_schedstat(p) for p in pids]
        db_ns = grown(db_before, {pid: float(cpu_ns(pid)) for pid in pg_backends(db)})
        ns, wakes = (a - b for a, b in zip(schedstat(sleeper.pid), sleeper_before, strict=True))
    figures = [Idle((ns1 - ns0 + (db_ns if i == 0 else 0)) / 1e6 / seconds, (woke1 - woke0) / seconds, peak)
               for i, ((ns0, woke0), (ns1, woke1), peak)
               in enumerate(zip(before, after, peaks, strict=True))]
    return figures, ns / 1e6 / max(wakes, 1)


class Load:
    """Offers commands to one target and collects what came back, over the fake's /calls."""

    def __init__(self, http: aiohttp.ClientSession, fake_url: str, ctl: str, db: str | None) -> None:
        self.http, self.fake_url, self.ctl, self.since = http, fake_url, ctl, 0
        self.db = db  # deskhand's PostgreSQL database, whose server processes count as its CPU

    def commands(self, label: str, command: str, n: int) -> list[Request]:
        return requests(self.fake_url, label, n, "/deskhand", command)

    async def round(self, t: Target, command: str, rate: float, n: int, label: str) -> Round:
        reqs = self.commands(label, command, n)
        db = self.db if t.name == "deskhand" else None
        cpu, db_cpu = tree_cpu_s(t.pid), {pid: cpu_s(pid) for pid in pg_backends(db)}
        woke = tree_schedstat(t.pid)[1]
        _, _, starts = await send(t, reqs, 1, rate)
        others: dict[str, str] = {}  # answers that are not the command's card
        arrived, self.since = await cards(self.http, self.ctl, starts, EXPECT[command], self.since,
                                          others)
        db_ms = grown(db_cpu, {pid: cpu_s(pid) for pid in pg_backends(db)}) * 1000 / n
        cpu = (tree_cpu_s(t.pid) - cpu) * 1000 / n + db_ms
        wakes = (tree_schedstat(t.pid)[1] - woke) / n  # a pooled thread that ended is not in it
        first, last = min(starts.values()), max(starts.values())
        loaded = sum(first <= at <= last for at in arrived.values())
        return Round(rate, loaded / (last - first) if last > first else float(loaded),
                     [(arrived[p] - starts[p]) * 1000 for p in starts], cpu, db_ms,
                     loadavg().split()[0], wakes, sorted(others.values()))

    async def capture(self, t: Target, command: str, n: int) -> dict[str, dict[str, object]]:
        """A warm-up of n commands at 20/s; the card each person got (user id -> body)."""
        since, label = self.since, f"{t.name}-{command}-warmup"
        await self.round(t, command, 20.0, n, label)
        async with self.http.get(f"{self.ctl}/calls",
                                 params={"since": str(since), "full": "1"}) as r:
            calls = await r.json()
        users = {f"/response/{label}-{i}": USERS[i % len(USERS)] for i in range(n)}  # as requests()
        got = {users[c["path"]]: {k: v for k, v in c["body"].items() if k in RESPOND_KEYS}
               for c in calls if c["method"] == "response_url" and c["path"] in users
               and c["text"].startswith(EXPECT[command])}  # not some other answer
        if set(got) != set(USERS):
            raise RuntimeError(f"no {command} card captured for {set(USERS) - set(got)}")
        return got


def blocks(body: dict[str, object]) -> int:
    found = body.get("blocks")
    return len(found) if isinstance(found, list) else 0


async def audit_rows(url: str, command: str) -> int:
    sql = ("SELECT count(*) FROM audit_events WHERE kind = 'command' AND action = {} "
           "AND outcome = 'ok'")
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return int(conn.execute(sql.format("?"), (command,)).fetchone()[0])
    return await pg_count(url, sql.format("$1"), command)


async def measure(args: argparse.Namespace, work: Path, url: str | None,
                  db: str | None) -> list[Figures]:
    fake_port, ctl_port, desk_port, bare_port = (free_port() for _ in range(4))
    fake_url, ctl = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{ctl_port}"
    api, cards_file, py = f"{fake_url}/api/", work / "cards.json", sys.executable
    env = clean_env(PYTHONPATH=str(ROOT))
    with ExitStack() as procs:  # the fake and bare start while the database is prepared
        fake = procs.enter_context(spawn([py, "-c", FAKE_APP, str(fake_port), str(ctl_port)], env, work))
        bare = procs.enter_context(spawn([py, "-c", BARE_APP, str(bare_port), SECRET, BOT_TOKEN, api,
                                          str(cards_file)], env, work))
        _, serve_env = await asyncio.to_thread(prepare, work, url)
        desk = procs.enter_context(spawn(deskhand("serve"), {
            **serve_env, "DESKHAND_PORT": str(desk_port), "DESKHAND_SLACK_SIGNING_SECRET": SECRET,
            "DESKHAND_SLACK_BOT_TOKEN": BOT_TOKEN, "DESKHAND_SLACK_API_URL": api,
            "DESKHAND_WORKERS": "1"}, work))
        procs.enter_context(tail_on_error(desk))
        started = time.perf_counter()
        for proc, ready in ((fake, f"{ctl}/calls?since=0"), (desk, f"http://127.0.0.1:{desk_port}/readyz"),
                            (bare, f"http://127.0.0.1:{bare_port}/readyz")):
            await asyncio.to_thread(wait_ready, proc, ready, started)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                         timeout=aiohttp.ClientTimeout(total=60)) as http:
            targets = [Target("deskhand", f"http://127.0.0.1:{desk_port}", desk.pid, http),
                       Target("bare", f"http://127.0.0.1:{bare_port}", bare.pid, http)]
            figures = [Figures(t.name) for t in targets]
            deadline = time.monotonic() + 60  # the worker process may start after /readyz
            while not any(name.startswith("worker") for name in processes(desk.pid)):
                if time.monotonic() > deadline or desk.popen.poll() is not None:
                    raise RuntimeError(f"deskhand's worker did not start:\n{desk.log_tail()}")
                await asyncio.sleep(0.1)
            await asyncio.sleep(args.settle)  # its imports and first reads
            rest, wake_ms = await idle(targets, db, args.idle_seconds, work)
            for f, at_rest in zip(figures, rest, strict=True):
                f.idle_cpu_ms_s, f.idle_wakes_s, f.idle_rss = at_rest.cpu_ms_s, at_rest.wakes_s, at_rest.rss
            figures[0].wake_ms = wake_ms  # the run's baseline: deskhand's figures carry it, as the audit
            load = Load(http, fake_url, ctl, db)
            captured = {c: await load.capture(targets[0], c, args.warmup) for c in args.command}
            cards_file.write_text(json.dumps(captured))
            sent = dict.fromkeys(args.command, args.warmup)
            for c in args.command:
                await load.capture(targets[1], c, args.warmup)
            pairs = list(zip(targets, figures, strict=True))
            for i, rate in enumerate(args.rates):
                n = max(2, round(rate * args.seconds))
                for c in args.command:
                    for t, f in pairs[::1 if i % 2 == 0 else -1]:  # alternate who goes first
                        f.rounds.setdefault(c, []).append(
                            await load.round(t, c, rate, n, f"{t.name}-{c}-{rate:g}"))
                        if t.name == "deskhand":
                            sent[c] += n
                        await asyncio.sleep(0.5)  # let the round's last writes settle
        for proc in (fake, desk, bare):
            if proc.popen.poll() is not None:
                raise RuntimeError(f"a process exited during the run:\n{proc.log_tail()}")
    for c in args.command:
        rows = await audit_rows(serve_env["DESKHAND_DATABASE_URL"], c)
        figures[0].audit[c] = (rows, sent[c])
        print(f"audit log: {rows} `{c}` command rows for {sent[c]} `{c}` commands sent to deskhand")
    for c, by_user in captured.items():
        print(f"captured `{c}` cards: " + ", ".join(
            f"{user} {blocks(body)} blocks {len(json.dumps(body)) / 1024:.1f} KiB"
            for user, body in by_user.items()))
    return figures


async def main_async(args: argparse.Namespace) -> int:
    every = True
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        print(f"\n=== {backend}; load average before: {loadavg()}")
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            if backend == "sqlite":
                desk, bare = await measure(args, Path(tmp), None, None)
            else:
                name, url = await create_pg_database()
                try:
                    desk, bare = await measure(args, Path(tmp), url, name)
                finally:
                    await drop_pg_database(name)
        print(f"load average after: {loadavg()}")
        every &= report(backend, desk, bare)
    return 0 if every else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite",
                   help="PostgreSQL: a scratch database on DESKHAND_TEST_PG_URL (default the local server)")
    p.add_argument("--command", default="devices", help="comma-separated: devices, help")
    p.add_argument("--rates", default="20,75,100,150,250,300", help="offered commands/s, comma-separated")
    p.add_argument("--seconds", type=float, default=10.0, help="how long each rate is offered")
    # Idle is read once start-up's first sweeps and jobs are done, over a minute: every periodic
    # wake (heartbeats, the inbox's safety check, the due-time jobs' idle checks) is in it. A job
    # first runs one period after start (APScheduler's interval trigger): those of 60 s (the
    # inventory's due check) compile their statements then, ~0.15 ms/s more in a window from 30 s.
    p.add_argument("--idle-seconds", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=90.0, help="seconds after ready before idle is read")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured commands per command and target")
    p.add_argument("--quick", action="store_true",
                   help="rates 20,150,300 for 3 s each, 3 s idle: a short run, same goals")
    args = p.parse_args(argv)
    if args.quick:
        args.rates, args.seconds, args.idle_seconds, args.settle = "20,150,300", 3.0, 3.0, 3.0
    try:
        args.rates = [float(r) for r in args.rates.split(",")]
        args.command = args.command.split(",")
    except ValueError:
        p.error("--rates takes numbers, e.g. 20,150")
    if not (all(0 < r <= 1000 for r in args.rates) and set(args.command) <= set(EXPECT)
            and len(set(args.command)) == len(args.command) and 0.5 <= args.seconds <= 120
            and 0.5 <= args.idle_seconds <= 120 and 0 <= args.settle <= 120 and 2 <= args.warmup <= 500):
        p.error("allowed: --rates 0..1000 each, --command devices and/or help, --seconds 0.5..120, "
                "--idle-seconds 0.5..120, --settle 0..120, --warmup 2..500")
    print_machine()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
