"""Inventory sync benchmark: a sync of --devices devices from the three vendor simulators, beside
a raw bulk upsert of the same rows into a fresh database, same run.

What runs (on 127.0.0.1):
  fleet     --devices machines PC-000000...; 1E reports four in five (by FQDN, in 8 management
            groups), TeamViewer every other one (by name), Workspace ONE two in five (by name and
            serial; one in ten only it reports). So every device is reported by one to three
            sources (1.7 vendor records per device) and the merge by FQDN, name and serial runs.
            The three simulators are seeded in Python (no /_control upload) and served by a
            child process this script forks: the vendors' cost (building and encoding 170,000
            records' JSON) is not deskhand's, and their fleets are not in its RSS.
  sync      `handlers.inventory.sync.run_sync` in this process, on a started runtime (its other
            jobs running as in production) whose tenant has the three sources set up, over HTTP,
            1E deciding the management groups: into an empty inventory (the figure judged), then
            once more with everything known (informational: the hourly sync's usual case).
  raw       the rows that sync wrote (groups, devices with their ids and groups, device_sources),
            read back 2,000 at a time (not timed) and upserted into a freshly migrated database:
            SQLAlchemy Core INSERT ... ON CONFLICT DO UPDATE, executemany, a commit per batch of
            2,000. The floor: writing the same inventory with no vendor, no HTTP and no merge.
Measured: wall time, devices/s, this process's CPU seconds, statements issued (SQLAlchemy
`before_cursor_execute`; an executemany is one), and this process's peak RSS during the sync
(VmHWM, reset just before it).
Goals (issue 16): sync devices/s >= 0.5x the raw upsert's, and peak RSS under 300 MB.
Usage: python bench/inventory.py [--devices 100000] [--page-size 500] [--batch-size 2000]
       [--backend sqlite|postgresql|both] [--skip-again]
Exit status 0 when every goal passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql, sqlite

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import print_machine  # noqa: E402

from bot.bootstrap import build_runtime  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from handlers.inventory.config import InventoryConfig  # noqa: E402
from handlers.inventory.sync import Report, run_sync  # noqa: E402
from integrations.simulator_kit import serve  # noqa: E402
from integrations.tachyon.sim_state import SimDevice as OneDevice  # noqa: E402
from integrations.tachyon.simulator import TachyonSimulator  # noqa: E402
from integrations.teamviewer.simulator import SimDevice as TVDevice  # noqa: E402
from integrations.teamviewer.simulator import TeamViewerSimulator  # noqa: E402
from integrations.workspace_one.simulator import WorkspaceOneSimulator  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.devices import Device, ManagementGroup  # noqa: E402
from storage.inventory import DeviceSource  # noqa: E402
from storage.tenants import TenantRepo  # noqa: E402
from tests.conftest import create_pg_database, drop_pg_database, make_settings, sqlite_url  # noqa: E402
from tests.handlers.inventory_env import ONE_TOKEN, TV_TOKEN, source_settings  # noqa: E402
from tests.handlers.ws1_env import CODE, PASSWORD, USER  # noqa: E402

GOAL_X, GOAL_MB = 0.5, 300.0
GROUPS = ("London", "Paris", "New York", "Singapore", "Berlin", "Madrid", "Tokyo", "Field")
RAW_BATCH = 2_000


# --- the fleet ---------------------------------------------------------------------------------

def seed(n: int) -> tuple[TachyonSimulator, TeamViewerSimulator, WorkspaceOneSimulator]:
    rng = random.Random(16)
    one = TachyonSimulator(tokens={ONE_TOKEN: "deskhand"})
    tv = TeamViewerSimulator(script_tokens=(TV_TOKEN,))
    ws1 = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE, seed=16)
    ones, tvs, ws1s = [], [], []
    for i in range(n):
        name, serial, group = f"PC-{i:06d}", f"SN{i:08d}", i % len(GROUPS)
        if i % 5 != 4:
            ones.append(OneDevice(f"{name.lower()}.corp.example.com", group + 1, GROUPS[group],
                                  {"os": "Windows 11 24H2", "serial": serial}))
        if i % 2 == 0:
            tvs.append(TVDevice(name, online=rng.random() < 0.7, id=str(uuid.UUID(int=rng.getrandbits(128))),
                                teamviewer_id=rng.randrange(10**8, 2 * 10**9), group="Support"))
        if i % 5 in (3, 4):
            ws1s.append((name, serial, None, "WinRT", "10.0.22631", f"user{i}@example.com"))
    one.set_devices(ones)
    tv.devices = tvs
    ws1.seed_devices(ws1s)
    return one, tv, ws1


def _serve(n: int, conn: Connection, parents: Connection) -> None:
    """The child: seed the fleet, serve the three simulators, tell the parent where and how
    many, then serve until the parent ends this process or itself ends."""
    parents.close()  # inherited by the fork: closed, so the parent ending reads as EOF on `conn`
    one, tv, ws1 = seed(n)

    async def run() -> None:
        urls = {}
        for key, sim in (("1e", one), ("tv", tv), ("ws1", ws1)):
            urls[key] = (await serve(sim))[1]
        conn.send((urls, {"1E": len(one.devices), "TeamViewer": len(tv.devices),
                          "Workspace ONE": len(ws1.devices)}))
        parent_gone = asyncio.Event()  # the pipe reads as closed: the parent ended, however
        asyncio.get_running_loop().add_reader(conn.fileno(), parent_gone.set)
        await parent_gone.wait()

    asyncio.run(run())


@contextlib.contextmanager
def simulators(n: int) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    """The simulators' URLs and each one's device count, served by a forked child process."""
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(n, child, parent),
                                                       daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(600):
            raise TimeoutError("the simulators did not start within 10 minutes")
        yield parent.recv()
    finally:
        proc.terminate()  # by its own pid
        proc.join(10)


@contextlib.asynccontextmanager
async def deskhand(url: str, urls: dict[str, str], page_size: int,
                   batch_size: int) -> AsyncIterator[Runtime]:
    """A started runtime on `url` whose own tenant has the three simulators set up."""
    rt = build_runtime(make_settings(url, **source_settings(urls), inventory_page_size=page_size,
                                     inventory_batch_size=batch_size))
    await rt.start(upgrade=True)
    gc.collect()
    gc.freeze()  # as the worker that runs the scheduled sync does once started (bot/workers.py)
    try:
        yield rt
    finally:
        await rt.stop()


# --- measuring --------------------------------------------------------------------------------

@dataclass
class Figures:
    seconds: float
    cpu: float  # this process's CPU seconds (every thread: SQLite runs on one of its own)
    statements: int
    devices: int

    @property
    def rate(self) -> float:
        return self.devices / self.seconds


@contextlib.contextmanager
def counted(db: Database) -> Iterator[list[int]]:
    """Statements the database is sent while inside (an executemany counts once)."""
    count = [0]

    def one(*_: Any) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", one)
    try:
        yield count
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", one)


def _status_mb(field: str) -> float:
    """A VmRSS/VmHWM figure of this process, in MB (10**6 bytes, as the goal is set)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def rss_mb() -> float:
    return _status_mb("VmRSS")


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where it cannot be."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb(was_reset: bool) -> float:
    return _status_mb("VmHWM") if was_reset else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


async def timed_sync(rt: Runtime, n: int) -> tuple[Figures, Report, float]:
    with counted(rt.db) as count:
        was_reset = reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        report = await run_sync(rt, rt.tenant_id)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Figures(seconds, cpu, count[0], n), report, peak_mb(was_reset)


# --- the raw upsert ---------------------------------------------------------------------------

async def written(db: Database, tenant: int, table: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows of `table` a sync wrote, RAW_BATCH at a time in id order (never all at once,
    so the PostgreSQL run after SQLite's starts from the same memory)."""
    cols = [c for c in table.__table__.columns if c.name != "tenant_id"]
    after = 0
    while True:
        async with db.uow() as uow:
            rows = (await uow.session.execute(select(*cols).where(
                table.tenant_id == tenant, table.id > after).order_by(table.id).limit(RAW_BATCH))).all()
        if not rows:
            return
        after = rows[-1].id
        yield [dict(r._mapping) for r in rows]


async def raw_upsert(source: Database, from_tenant: int, url: str, n: int) -> Figures:
    """The rows `source` holds, upserted into a fresh database at `url`: only the writes are
    on the clock (the reads from `source` are not)."""
    db = Database(url)
    try:
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            tenant = (await uow.repo(TenantRepo).ensure("bench", "Bench")).id
            await uow.commit()
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        plan = [(ManagementGroup, ["tenant_id", "name"]), (Device, ["tenant_id", "name"]),
                (DeviceSource, ["tenant_id", "source", "external_id"])]
        seconds = cpu = 0.0
        with counted(db) as count:
            for table, key in plan:
                stmt = dialect.insert(table.__table__)  # Core: one executemany a batch
                stmt = stmt.on_conflict_do_update(index_elements=key, set_={
                    c.name: stmt.excluded[c.name] for c in table.__table__.columns
                    if c.name not in (*key, "id")})
                async for rows in written(source, from_tenant, table):
                    batch = [{**r, "tenant_id": tenant} for r in rows]
                    started, used = time.perf_counter(), time.process_time()
                    async with db.uow() as uow:
                        await uow.session.execute(stmt, batch)
                        await uow.commit()
                    seconds += time.perf_counter() - started
                    cpu += time.process_time() - used
        return Figures(seconds, cpu, count[0], n)
    finally:
        await db.dispose()


# --- one backend --------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def database(backend: str, tmp: Path, name: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        folder = tmp / name
        folder.mkdir()
        yield sqlite_url(folder)
        return
    pg_name, url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(pg_name)


def check(rt_report: Report, n: int, devices: int, sources: int, records: int) -> None:
    """The sync did its job: one device per machine, one source row per vendor record."""
    failed = [f"{s.label}: {s.failed}" for s in rt_report.failed]
    if failed or devices != n or sources != records:
        raise RuntimeError(f"the sync is wrong: {devices} devices (want {n}), {sources} source rows "
                         f"(want {records}); failed: {failed}")


async def run_backend(backend: str, args: argparse.Namespace, urls: dict[str, str],
                      counts: dict[str, int], tmp: Path) -> list[str]:
    n, records = args.devices, sum(counts.values())
    async with database(backend, tmp, "sync") as url, \
            deskhand(url, urls, args.page_size, args.batch_size) as rt:
        before = rss_mb()
        first, report, peak = await timed_sync(rt, n)
        async with rt.db.uow() as uow:
            devices = (await uow.session.execute(select(func.count()).select_from(Device))).scalar_one()
            source_rows = (await uow.session.execute(
                select(func.count()).select_from(DeviceSource))).scalar_one()
        check(report, n, devices, source_rows, records)
        print(f"\n{backend}: {n:,} devices, {records:,} vendor records ("
              + ", ".join(f"{k} {v:,}" for k, v in counts.items())
              + f"), vendor page size {args.page_size}, batch size {args.batch_size}")
        print("  first sync: " + "; ".join(
            f"{s.label} {s.seen:,} reported, +{s.added:,} ~{s.updated:,} >{s.moved:,}"
            for s in report.sources))
        again = None
        if not args.skip_again:
            again, _, _ = await timed_sync(rt, n)
        async with database(backend, tmp, "raw") as raw_url:
            raw = await raw_upsert(rt.db, rt.tenant_id, raw_url, n)
    ratio = first.rate / raw.rate
    print(f"  {'':22} {'wall':>9} {'devices/s':>10} {'CPU':>8} {'statements':>11} {'per 1,000':>10}")
    for label, f in (("sync (empty inventory)", first), ("sync again (all known)", again),
                     ("raw bulk upsert", raw)):
        if f is not None:
            print(f"  {label:22} {f.seconds:8.2f}s {f.rate:10,.0f} {f.cpu:7.2f}s {f.statements:11,} "
                  f"{f.statements * 1000 / n:10.1f}")
    print(f"  peak RSS during the sync {peak:.0f} MB (before it {before:.0f} MB: the started runtime)")
    return [f"{'PASS' if ratio >= GOAL_X else 'FAIL'} {backend}: sync {ratio:.2f}x the raw "
            f"upsert's devices/s (goal >= {GOAL_X}x)",
            f"{'PASS' if peak < GOAL_MB else 'FAIL'} {backend}: peak RSS {peak:.0f} MB "
            f"(goal < {GOAL_MB:.0f} MB)"]


async def run(args: argparse.Namespace, urls: dict[str, str], counts: dict[str, int]) -> int:
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as folder:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            verdicts += await run_backend(backend, args, urls, counts, Path(folder))
    print()
    print("\n".join(verdicts))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=100_000)
    defaults = InventoryConfig.model_validate({})
    parser.add_argument("--page-size", type=int, default=defaults.inventory_page_size,
                        help="DESKHAND_INVENTORY_PAGE_SIZE (default: deskhand's)")
    parser.add_argument("--batch-size", type=int, default=defaults.inventory_batch_size,
                        help="DESKHAND_INVENTORY_BATCH_SIZE (default: deskhand's)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite",
                        help="PostgreSQL: DESKHAND_TEST_PG_URL, default the local server")
    parser.add_argument("--skip-again", action="store_true", help="no second sync")
    args = parser.parse_args(argv)
    print_machine()
    with simulators(args.devices) as (urls, counts):  # forked before this process starts threads
        return asyncio.run(run(args, urls, counts))


if __name__ == "__main__":
    sys.exit(main())
