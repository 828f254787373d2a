"""Inventory sync benchmark: a sync of --devices devices from the three vendor simulators, beside
a raw bulk upsert of the same rows into a fresh database, same run.

What runs (all in this process, on 127.0.0.1):
  fleet     --devices machines PC-000000...; 1E reports four in five (by FQDN, in 8 management
            groups), TeamViewer every other one (by name), Workspace ONE two in five (by name and
            serial; one in ten only it reports). So every device is reported by one to three
            sources (1.7 vendor records per device) and the merge by FQDN, name and serial runs.
  sync      `handlers.inventory.sync.run_sync` on a started runtime whose tenant has the three
            sources set up, over HTTP to the simulators (served in this process, so their JSON
            is on the clock too), 1E deciding the management groups: into an empty inventory
            (the figure judged), then once more with everything known (informational: the
            hourly sync's usual case).
  raw       the rows that sync wrote (devices with their ids and groups, device_sources), read
            back and upserted into a freshly migrated database: SQLAlchemy Core
            INSERT ... ON CONFLICT DO UPDATE, executemany in batches of 2,000, a commit per
            batch. The floor: what writing the same inventory costs with no vendor, no HTTP and
            no merge.
Measured: wall time, devices/s, statements issued (SQLAlchemy `before_cursor_execute`; an
executemany is one), and the process's peak RSS during the sync (VmHWM, reset just before;
it includes the simulators' fleets, shown as the RSS before the sync).
Goals (issue 16): sync devices/s >= 0.5x the raw upsert's, and peak RSS under 300 MB.
Usage: python bench/inventory.py [--devices 100000] [--page-size 500] [--pg [URL]] [--skip-again]
Exit status 0 when every goal passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql, sqlite

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import print_machine  # noqa: E402

from bot.runtime import Runtime  # noqa: E402
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
from tests.conftest import create_pg_database, drop_pg_database, sqlite_url  # noqa: E402
from tests.handlers.inventory_env import ONE_TOKEN, TV_TOKEN, Sims, deskhand  # noqa: E402
from tests.handlers.ws1_env import CODE, PASSWORD, USER  # noqa: E402

GOAL_X, GOAL_MIB = 0.5, 300.0
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


@contextlib.asynccontextmanager
async def simulators(n: int) -> AsyncIterator[Sims]:
    one, tv, ws1 = seed(n)
    runners, urls = [], {}
    for key, sim in (("1e", one), ("tv", tv), ("ws1", ws1)):
        runner, url = await serve(sim)  # type: ignore[arg-type]
        runners.append(runner)
        urls[key] = url
    try:
        yield Sims(one, tv, ws1, urls)
    finally:
        for runner in runners:
            await runner.cleanup()


# --- measuring --------------------------------------------------------------------------------

@dataclass
class Figures:
    seconds: float
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


def rss_mib() -> float:
    return _status("VmRSS")


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where it cannot be."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mib(was_reset: bool) -> float:
    return _status("VmHWM") if was_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed_sync(rt: Runtime, n: int) -> tuple[Figures, Report, float]:
    with counted(rt.db) as count:
        was_reset = reset_peak()
        started = time.perf_counter()
        report = await run_sync(rt, rt.tenant_id)
        seconds = time.perf_counter() - started
    return Figures(seconds, count[0], n), report, peak_mib(was_reset)


# --- the raw upsert ---------------------------------------------------------------------------

async def read_back(db: Database, tenant: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                        list[dict[str, Any]]]:
    """The groups, devices and device_sources rows a sync wrote."""
    async with db.uow() as uow:
        out = []
        for table in (ManagementGroup, Device, DeviceSource):
            cols = [c for c in table.__table__.columns if c.name != "tenant_id"]  # type: ignore[attr-defined]
            rows = (await uow.session.execute(select(*cols).where(
                table.tenant_id == tenant))).all()  # type: ignore[attr-defined]
            out.append([dict(r._mapping) for r in rows])
    return out[0], out[1], out[2]


async def raw_upsert(url: str, groups: list[dict[str, Any]], devices: list[dict[str, Any]],
                     sources: list[dict[str, Any]]) -> Figures:
    db = Database(url)
    try:
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            tenant = (await uow.repo(TenantRepo).ensure("bench", "Bench")).id
            await uow.commit()
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        plan = [(ManagementGroup, ["tenant_id", "name"], groups),
                (Device, ["tenant_id", "name"], devices),
                (DeviceSource, ["tenant_id", "source", "external_id"], sources)]
        with counted(db) as count:
            started = time.perf_counter()
            for table, key, rows in plan:
                stmt = dialect.insert(table.__table__)  # Core: one executemany a batch
                stmt = stmt.on_conflict_do_update(index_elements=key, set_={
                    c: stmt.excluded[c] for c in rows[0] if c not in (*key, "id")})
                for at in range(0, len(rows), RAW_BATCH):
                    async with db.uow() as uow:
                        await uow.session.execute(stmt, [{**r, "tenant_id": tenant}
                                                         for r in rows[at:at + RAW_BATCH]])
                        await uow.commit()
            seconds = time.perf_counter() - started
        return Figures(seconds, count[0], len(devices))
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
        raise SystemExit(f"the sync is wrong: {devices} devices (want {n}), {sources} source rows "
                         f"(want {records}); failed: {failed}")


async def run_backend(backend: str, args: argparse.Namespace, sims: Sims, tmp: Path) -> list[str]:
    n = args.devices
    records = len(sims.one.devices) + len(sims.tv.devices) + len(sims.ws1.devices)
    async with database(backend, tmp, "sync") as url, \
            deskhand(url, sims, inventory_page_size=args.page_size) as rt:
        before = rss_mib()
        first, report, peak = await timed_sync(rt, n)
        async with rt.db.uow() as uow:
            devices = (await uow.session.execute(select(func.count()).select_from(Device))).scalar_one()
            source_rows = (await uow.session.execute(
                select(func.count()).select_from(DeviceSource))).scalar_one()
        check(report, n, devices, source_rows, records)
        print(f"\n{backend}: {n:,} devices, {records:,} vendor records "
              f"(1E {len(sims.one.devices):,}, TeamViewer {len(sims.tv.devices):,}, "
              f"Workspace ONE {len(sims.ws1.devices):,}), page size {args.page_size}")
        print("  per source: " + "; ".join(
            f"{s.label} {s.seen:,} reported, +{s.added:,} ~{s.updated:,} >{s.moved:,}"
            for s in report.sources))
        again = None
        if not args.skip_again:
            again, _, _ = await timed_sync(rt, n)
        groups, rows, sources = await read_back(rt.db, rt.tenant_id)
    async with database(backend, tmp, "raw") as url:
        raw = await raw_upsert(url, groups, rows, sources)
    del groups, rows, sources
    ratio = first.rate / raw.rate
    print(f"  {'':22} {'wall':>9} {'devices/s':>10} {'statements':>11} {'per 1,000':>10}")
    for label, f in (("sync (empty inventory)", first), ("sync again (all known)", again),
                     ("raw bulk upsert", raw)):
        if f is not None:
            print(f"  {label:22} {f.seconds:8.2f}s {f.rate:10,.0f} {f.statements:11,} "
                  f"{f.statements * 1000 / n:10.1f}")
    print(f"  peak RSS during the sync {peak:.0f} MiB (RSS before it {before:.0f} MiB: "
          f"runtime and the simulators' fleets)")
    return [f"{'PASS' if ratio >= GOAL_X else 'FAIL'} {backend}: sync {ratio:.2f}x the raw "
            f"upsert's devices/s (goal >= {GOAL_X}x)",
            f"{'PASS' if peak < GOAL_MIB else 'FAIL'} {backend}: peak RSS {peak:.0f} MiB "
            f"(goal < {GOAL_MIB:.0f} MB)"]


async def amain(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500, help="DESKHAND_INVENTORY_PAGE_SIZE")
    parser.add_argument("--pg", action="store_true",
                        help="PostgreSQL too (DESKHAND_TEST_PG_URL, default the local server)")
    parser.add_argument("--skip-again", action="store_true", help="no second sync")
    args = parser.parse_args(argv)
    print_machine()
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as folder:
        async with simulators(args.devices) as sims:
            for backend in ("sqlite", "postgresql") if args.pg else ("sqlite",):
                verdicts += await run_backend(backend, args, sims, Path(folder))
    print()
    print("\n".join(verdicts))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(argv))


if __name__ == "__main__":
    sys.exit(main())
