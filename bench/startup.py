"""Start-up benchmark: time to `GET /readyz` = 200 and idle RSS, deskhand beside a bare aiohttp app.

What is measured (each run is a fresh process, timed from just before it is spawned):
  bare    a ten-line aiohttp script that serves /readyz: the floor (interpreter + aiohttp)
  serve   `deskhand serve` in production mode on a migrated, demo-seeded SQLite file: a production
          restart, and the row the goals are judged on
  demo    `deskhand demo` restarting on its existing data dir (console on, upgrade check, seed
          check): informational

Goals (issue 2): ready in under 2 s and idle RSS under 150 MiB, judged on the worst `serve` run.
Usage: python bench/startup.py [--runs 5] [--settle 2] [--skip-demo]
Exit status 0 when every goal passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # bench/ is not a package: import the sibling by path
    VENV_BIN,
    Stats,
    clean_env,
    free_port,
    idle_rss_mib,
    print_machine,
    spawn,
    wait_ready,
)

READY_GOAL_S = 2.0
RSS_GOAL_MIB = 150.0
SECRET = "bench-secret-key-0123456789abcdef"

# The baseline: the same interpreter and aiohttp, nothing else.
BARE_APP = """
import sys
from aiohttp import web

async def readyz(request):
    return web.json_response({"status": "ready"})

app = web.Application()
app.router.add_get("/readyz", readyz)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@dataclass
class Target:
    name: str
    argv: list[str]  # "{port}" in argv and env values is replaced by a free port per run
    env: dict[str, str]
    ready_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)

    def run_once(self, work: Path, settle: float) -> tuple[float, float]:
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in self.argv]
        env = {k: v.replace("{port}", str(port)) for k, v in self.env.items()}
        started = time.perf_counter()
        with spawn(argv, env, work) as proc:
            ready = wait_ready(proc, f"http://127.0.0.1:{port}/readyz", started)
            rss = idle_rss_mib(proc.pid, settle)
        proc.log.unlink(missing_ok=True)
        return ready, rss


def deskhand(*args: str) -> list[str]:
    return [str(VENV_BIN / "deskhand"), *args]


def prepare(work: Path, database_url: str | None = None) -> tuple[Path, dict[str, str]]:
    """A production-like database: `deskhand db upgrade`, then one `deskhand demo` start to seed it.

    A SQLite file in `work` unless `database_url` names another (an empty PostgreSQL database);
    blocking, so an event loop calls it through asyncio.to_thread."""
    data = work / "data"
    data.mkdir()
    db_file = data / "deskhand.db"
    url = database_url or f"sqlite+aiosqlite:///{db_file}"
    env = clean_env(DESKHAND_MODE="production", DESKHAND_DATABASE_URL=url,
                    DESKHAND_SECRET_KEY=SECRET, DESKHAND_HOST="127.0.0.1", DESKHAND_LOG_LEVEL="WARNING")
    done = subprocess.run(deskhand("db", "upgrade"), env=env, cwd=work, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"deskhand db upgrade failed:\n{done.stdout}{done.stderr}")
    seed = Target("seed", deskhand("demo", "--data-dir", str(data), "--port", "{port}"),
                  clean_env(DESKHAND_LOG_LEVEL="WARNING",
                            **({"DESKHAND_DATABASE_URL": url} if database_url else {})))
    seed.run_once(work, settle=0)
    if database_url:
        devices = asyncio.run(pg_count(database_url, "SELECT count(*) FROM devices"))
    else:
        with sqlite3.connect(db_file) as con:
            devices = con.execute("SELECT count(*) FROM devices").fetchone()[0]
    if devices < 200:
        raise SystemExit(f"seeding failed: {devices} devices in {url}")
    return data, env


async def pg_count(url: str, sql: str, *args: object) -> int:
    """One count from a PostgreSQL database given by its SQLAlchemy URL."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


def fmt_row(name: str, t: Target, bare: Target | None) -> str:
    ready, rss = Stats.of(t.ready_s), Stats.of(t.rss_mib)
    line = (f"{name:<6} ready median {ready.median * 1000:7.0f} ms  max {ready.maximum * 1000:7.0f} ms"
            f"  | idle RSS median {rss.median:6.1f} MiB  max {rss.maximum:6.1f} MiB")
    if bare is not None:
        b_ready, b_rss = Stats.of(bare.ready_s), Stats.of(bare.rss_mib)
        line += (f"  | x bare: ready {ready.median / b_ready.median:4.1f}x"
                 f"  RSS {rss.median / b_rss.median:4.1f}x")
    return line


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="measured runs per target (default 5)")
    p.add_argument("--settle", type=float, default=2.0,
                   help="seconds idle after ready while RSS is sampled (default 2)")
    p.add_argument("--skip-demo", action="store_true", help="leave out the `deskhand demo` row")
    args = p.parse_args()
    if not 1 <= args.runs <= 50:
        p.error("--runs must be between 1 and 50")
    if not 0 <= args.settle <= 30:
        p.error("--settle must be between 0 and 30 seconds")

    print_machine()
    with tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        work = Path(tmp)
        data, serve_env = prepare(work)
        targets = [
            Target("bare", [sys.executable, "-c", BARE_APP, "{port}"], clean_env()),
            Target("serve", deskhand("serve"), {**serve_env, "DESKHAND_PORT": "{port}"}),
        ]
        if not args.skip_demo:
            targets.append(Target("demo", deskhand("demo", "--data-dir", str(data), "--port", "{port}"),
                                  clean_env(DESKHAND_LOG_LEVEL="WARNING")))
        print(f"{args.runs} runs each (after one unmeasured warm-up), interleaved; "
              f"RSS = peak VmRSS over {args.settle:g} s idle after ready")
        for round_no in range(args.runs + 1):
            for t in targets:
                ready, rss = t.run_once(work, args.settle)
                if round_no:  # round 0 warms the page cache and .pyc files
                    t.ready_s.append(ready)
                    t.rss_mib.append(rss)
    bare, serve = targets[0], targets[1]
    print(fmt_row("bare", bare, None))
    for t in targets[1:]:
        print(fmt_row(t.name, t, bare))
    worst_ready, worst_rss = max(serve.ready_s), max(serve.rss_mib)
    ok_ready, ok_rss = worst_ready < READY_GOAL_S, worst_rss < RSS_GOAL_MIB
    print(f"{'PASS' if ok_ready else 'FAIL'}  serve ready < {READY_GOAL_S:g} s "
          f"(worst {worst_ready:.2f} s)")
    print(f"{'PASS' if ok_rss else 'FAIL'}  serve idle RSS < {RSS_GOAL_MIB:g} MiB "
          f"(worst {worst_rss:.1f} MiB)")
    return 0 if ok_ready and ok_rss else 1


if __name__ == "__main__":
    raise SystemExit(main())
