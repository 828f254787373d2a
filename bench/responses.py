"""Responses benchmark: one instruction answered by 50,000 devices, fetched and stored, then paged.

What runs (all on 127.0.0.1):
  simulator  `python -m integrations.tachyon.simulator --devices N` in its own process; every
             device answers at once (no offline or error devices), one row per device
  deskhand   this process: a real runtime (build_runtime, migrated SQLite or PostgreSQL) with its
             scheduler stopped, so the run is driven here, by the production poller code

Measured:
  ingest     `Driver.drive` from "sent" until the run is completed: status + statistics calls,
             responses fetched in pages of --batch (`response_batch_size`) over HTTP and each page
             stored with its cursor in one compare-and-set transaction. Rows per second.
  raw        the same rows (fetched beforehand, outside the clock) bulk-inserted into the same
             table with SQLAlchemy Core `insert(InstructionResponse)` in batches of --batch, one
             commit per batch, in the same run of the script. Rows per second.
  RSS        this process's VmRSS sampled every 20 ms while the ingest runs (peak), beside the
             RSS before it began. The simulator's memory is not counted (another process).
  pages      Router.handle_action for the results button (first page) and for a "More" click
             whose keyset starts at the last page, as the requester; --repeat times each.

Goals (issue 5): ingest >= 0.5x the raw insert rate; peak RSS < 300 MB; last page median no
slower than 2x the first page median. Exit status 0 when all pass.
Usage: python bench/responses.py [--devices 50000] [--batch 10000] [--page-size 100]
                                 [--repeat 30] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import clean_env, free_port, percentile, print_machine, spawn, wait_ready  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bot.bootstrap import Settings, build_runtime  # noqa: E402
from bot.model import Actor, Interaction, PlatformIdentity, Principal, ReplyTarget  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from handlers.instructions.driver import driver  # noqa: E402
from handlers.instructions.states import REQUESTED, RUNS, SENT  # noqa: E402
from integrations.tachyon.client import TachyonClient  # noqa: E402
from storage.directory import DirectoryRepo  # noqa: E402
from storage.instructions import InstructionResponse, InstructionRun, InstructionRunRepo  # noqa: E402
from storage.tenants import SettingsRepo  # noqa: E402

TOKEN = "bench-tachyon-token-0001"
DEFINITION = 101  # 1E-Explorer-TachyonCore-GetOperatingSystem: one row per device
RSS_GOAL_MB, INGEST_GOAL, PAGE_GOAL = 300.0, 0.5, 2.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples this process's RSS on a thread (the event loop may be busy) until stopped."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


async def new_run(rt: Runtime, requester: int, fqdns: list[str], state: str) -> int:
    async with rt.db.uow() as uow:
        runs = uow.repo(InstructionRunRepo)
        run = await runs.add(InstructionRun(
            tenant_id=rt.tenant_id, state=state, definition_name="1E-Explorer-TachyonCore-GetOperatingSystem",
            definition_vendor_id=DEFINITION, kind="question", instruction_set="Diagnostics",
            columns=["OperatingSystem", "Version", "Build", "Architecture"],
            target_label=f"{len(fqdns)} devices", target_count=len(fqdns), requester_id=requester,
            requester_email="bench@example.com", correlation_id=f"bench{time.time_ns() % 10**12}"))
        await runs.add_targets(run.id, [{"name": f.split(".")[0].upper(), "fqdn": f,
                                         "group": "London"} for f in fqdns])
        await uow.commit()
        return run.id


async def issue(rt: Runtime, client: TachyonClient, run_id: int) -> None:
    """Issue to every device by scope: a 50,000-FQDN `Targeted` body is over the simulator's
    1 MB request limit. The run still lists all 50,000 targets, as a group run would."""
    status = await client.issue(DEFINITION, {}, scope={}, consumer_custom_data=f"bench:{run_id}")
    async with rt.db.uow() as uow:
        await RUNS.move(uow, rt.tenant_id, run_id, REQUESTED, SENT, vendor_id=status.id,
                        vendor_status=int(status.status), sent_at=datetime.now(UTC))
        await uow.commit()


async def ingest(rt: Runtime, run_id: int) -> tuple[float, float, int]:
    """(seconds from sent to completed, peak RSS MB, drives); the production driver does the work."""
    drive = driver(rt)
    drives = 0
    with PeakRss() as rss:
        started = time.perf_counter()
        while True:
            await drive.drive(run_id, rt.tenant_id)
            drives += 1
            async with rt.db.uow() as uow:
                run = await uow.repo(InstructionRunRepo).get(rt.tenant_id, run_id)
            assert run is not None
            if run.state == "completed":
                break
            if run.state not in ("sent", "in_progress") or drives > 10_000:
                raise RuntimeError(f"run ended {run.state}: {run.outcome or run.last_error}")
        took = time.perf_counter() - started
    return took, rss.peak, drives


async def raw_insert(rt: Runtime, client: TachyonClient, vendor_id: int, run_id: int,
                     batch: int) -> tuple[float, float, int]:
    """Fetch every row first (timed apart: the simulator's own pace), then time a plain bulk
    insert of them. Returns (fetch seconds, insert seconds, rows)."""
    pages: list[list[dict[str, Any]]] = []
    cursor = "0;0"
    fetch_started = time.perf_counter()
    while True:
        page = await client.responses(vendor_id, cursor, batch)
        if not page.rows:
            break
        pages.append([{"run_id": run_id, "is_error": False, "fqdn": r.fqdn, "values": r.values,
                       "responded_at": r.response_at} for r in page.rows])
        cursor = page.cursor
    fetched = time.perf_counter() - fetch_started
    started = time.perf_counter()
    for rows in pages:
        async with rt.db.uow() as uow:
            await uow.session.execute(insert(InstructionResponse.__table__), rows)
            await uow.commit()
    return fetched, time.perf_counter() - started, sum(len(p) for p in pages)


async def page_latency(rt: Runtime, run_id: int, requester: Principal, total: int, size: int,
                       repeat: int) -> tuple[list[float], list[float]]:
    async with rt.db.uow() as uow:
        q = (select(InstructionResponse.id).where(InstructionResponse.run_id == run_id)
             .order_by(InstructionResponse.id).offset(total - size - 1).limit(1))
        before_last = (await uow.session.execute(q)).scalar_one()
    actor = Actor(requester, PlatformIdentity("console", "local", str(requester.id)))
    target = ReplyTarget("console", "console")

    async def click(action_id: str, value: str) -> float:
        started = time.perf_counter()
        reply = await rt.router.handle_action(Interaction(action_id, value, actor, None, target),
                                              rt.platforms.get("console"))  # type: ignore[arg-type]
        took = time.perf_counter() - started
        caption = reply.cards[0].sections[0].caption  # type: ignore[union-attr]
        assert caption.startswith("Answers "), caption
        return took

    first, last = [], []
    for _ in range(repeat):
        first.append(await click(f"run.results:{run_id}", str(run_id)))
        last.append(await click(f"run.more:{run_id}:a:{before_last}", str(total - size)))
    return first, last


async def bench(args: argparse.Namespace, sim_url: str, tmp: Path) -> bool:
    url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    settings = Settings(database_url=url, mode="dev", secret_key="bench-secret-key-0123456789abcdef",
                        tenant="bench", tachyon_url=sim_url, tachyon_token=TOKEN)
    rt = build_runtime(settings)
    await rt.start(upgrade=True)
    await rt.scheduler.stop()  # the benchmark drives the run itself
    try:
        async with rt.db.uow() as uow:
            row = await uow.repo(DirectoryRepo).upsert_principal(rt.tenant_id, "bench@example.com", "Bench")
            await uow.repo(SettingsRepo).put(rt.tenant_id, {"response_batch_size": args.batch,
                                                            "page_size": args.page_size}, by="bench")
            await uow.commit()
        requester = Principal(row.id, rt.tenant_id, row.email, row.display_name)
        width = max(4, len(str(args.devices)))
        fqdns = [f"pc-{n:0{width}d}.corp.example.com" for n in range(1, args.devices + 1)]
        run_id = await new_run(rt, requester.id, fqdns, "requested")
        client = TachyonClient(sim_url, "deskhand", TOKEN)
        try:
            await issue(rt, client, run_id)
            before = rss_mb()
            took, peak, drives = await ingest(rt, run_id)
            async with rt.db.uow() as uow:
                run = await uow.repo(InstructionRunRepo).get(rt.tenant_id, run_id)
            assert run is not None and run.vendor_id is not None
            stored = run.answers_stored
            assert stored == args.devices, f"stored {stored} of {args.devices}"
            raw_id = await new_run(rt, requester.id, fqdns[:1], "completed")
            fetch_took, raw_took, raw_rows = await raw_insert(rt, client, run.vendor_id, raw_id,
                                                              args.batch)
        finally:
            await client.aclose()
        first, last = await page_latency(rt, run_id, requester, stored, args.page_size, args.repeat)
    finally:
        await rt.stop()

    ingest_rate, raw_rate = stored / took, raw_rows / raw_took
    f50, l50 = statistics.median(first) * 1000, statistics.median(last) * 1000
    print(f"database: {rt.db.dialect}; {args.devices} devices, one row each; batch {args.batch}; "
          f"page size {args.page_size}")
    print(f"ingest  {stored} rows in {took:.2f} s over {drives} drives: {ingest_rate:,.0f} rows/s")
    print(f"raw     {raw_rows} rows in {raw_took:.2f} s: {raw_rate:,.0f} rows/s "
          f"(ingest / raw = {ingest_rate / raw_rate:.2f})")
    print(f"fetch   the same pages fetched and parsed, nothing stored: {fetch_took:.2f} s, "
          f"{raw_rows / fetch_took:,.0f} rows/s (ingest / fetch only = {took and fetch_took / took:.2f})")
    print(f"RSS     {before:.1f} MB before the ingest, peak {peak:.1f} MB during it")
    print(f"pages   first p50 {f50:.1f} ms p95 {percentile(first, 95) * 1000:.1f} ms; "
          f"last p50 {l50:.1f} ms p95 {percentile(last, 95) * 1000:.1f} ms ({args.repeat} each)")
    goals = [(ingest_rate >= INGEST_GOAL * raw_rate, f"ingest >= {INGEST_GOAL}x raw insert "
              f"({ingest_rate / raw_rate:.2f}x)"),
             (peak < RSS_GOAL_MB, f"peak RSS < {RSS_GOAL_MB:.0f} MB ({peak:.1f} MB)"),
             (l50 <= PAGE_GOAL * f50, f"last page <= {PAGE_GOAL}x first ({l50 / f50:.2f}x)")]
    for ok, text in goals:
        print(("PASS " if ok else "FAIL ") + text)
    return all(ok for ok, _ in goals)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=50_000)
    p.add_argument("--batch", type=int, default=10_000, help="response_batch_size (10..10000)")
    p.add_argument("--page-size", type=int, default=100, choices=(10, 25, 50, 100))
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    args = p.parse_args()
    print_machine()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-responses-") as tmp:
        argv = [sys.executable, "-m", "integrations.tachyon.simulator", "--port", str(port),
                "--token", TOKEN, "--devices", str(args.devices)]
        with spawn(argv, clean_env(PYTHONPATH=str(ROOT)), Path(tmp)) as sim:
            wait_ready(sim, f"http://127.0.0.1:{port}/_control", time.perf_counter())
            httpx.post(f"http://127.0.0.1:{port}/_control", json={
                "step_seconds": 0.05, "answer_seconds": 0, "offline_percent": 0, "error_percent": 0})
            ok = asyncio.run(bench(args, f"http://127.0.0.1:{port}/Consumer/", Path(tmp)))
    print(f"finished {datetime.now(UTC):%Y-%m-%d %H:%M UTC}, pid {os.getpid()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
