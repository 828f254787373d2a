"""Delta Sharing benchmark: the official `delta-sharing` client reading a 1,000,000-row audit
table from deskhand's /sharing/, beside pyarrow reading the same parquet files from local disk.

What runs (all on 127.0.0.1):
  deskhand  `deskhand serve` (production mode, console off, no workers) in its own process on a
            SQLite file (or --database-url) holding --rows audit events of its tenant and one
            active data-access token whose secret this script knows
  client    the delta-sharing 1.4.2 client in its own environment (.venv-delta/, built on first
            use as the tests do), `load_as_pandas(profile#deskhand.deskhand.audit_events)`: the
            query, then every parquet part through its signed file URL (HTTP range requests)
  local     in the same client process, alternating with it, `pyarrow.parquet.read_table(part)
            .to_pandas(...)` for the same snapshot's parts on local disk, converted with the
            arguments the client's reader uses (date_as_object, no threads, no block split): the
            same work without the transport, the floor the goal is judged against. Also shown:
            the same read with pyarrow's default conversion (threads on), for information

The snapshot is written before the clock starts (its time is printed: pyarrow from the database
in batches); both sides read the same version. Rows per second of each, --rounds times,
alternating so machine drift hits both alike; the goal is judged on the medians.

Goal (issue 14): client rows/s >= 0.5x local rows/s. Exit status 0 when it passes.
Usage: python bench/sharing.py [--rows 1000000] [--rounds 5] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import VENV_BIN, clean_env, free_port, print_machine, spawn, wait_ready  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.bootstrap import Settings, build_runtime  # noqa: E402
from handlers.tokens import access  # noqa: E402
from handlers.tokens.config import SharingConfig, snapshot_root  # noqa: E402
from handlers.tokens.snapshots import Snapshots  # noqa: E402
from handlers.tokens.states import ACTIVE, digest  # noqa: E402
from storage.audit import AuditEvent  # noqa: E402
from storage.tokens import DataAccessToken, DataAccessTokenRepo  # noqa: E402
from tests.handlers import delta_env  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
BEARER = "dhds_bench-bearer-token-0123456789"
GOAL = 0.5
INSERT_BATCH = 20_000


async def prepare(url: str, rows: int, sharing_dir: Path) -> tuple[list[Path], float]:
    """Migrate, fill the audit table, add the token, write the snapshot; (its parts, seconds)."""
    rt = build_runtime(Settings(database_url=url, secret_key=SECRET, mode="production",
                                sharing_dir=str(sharing_dir)))
    await rt.start(upgrade=True)
    try:
        tenant = rt.tenant_id
        now = datetime.now(UTC)
        async with rt.db.uow() as uow:
            await access.put(uow, tenant, True, by="bench")
            await uow.repo(DataAccessTokenRepo).add(DataAccessToken(
                tenant_id=tenant, name="bench", state=ACTIVE, lifetime="1m",
                secret_hash=digest(BEARER), created_by_email="bench@example.com",
                expires_at=now + timedelta(days=30)))
            await uow.commit()
        for start in range(0, rows, INSERT_BATCH):
            values = [{"tenant_id": tenant, "at": now - timedelta(seconds=n),
                       "correlation_id": f"{n:016x}", "kind": "command", "action": "devices",
                       "outcome": "ok", "actor_email": f"user{n % 500}@example.com",
                       "platform_identity": f"slack:T0001:U{n % 500:05d}",
                       "target": f"PC-{n % 20000:05d}", "params": {"query": f"q{n % 97}"},
                       "detail": ""} for n in range(start, min(rows, start + INSERT_BATCH))]
            async with rt.db.uow() as uow:
                await uow.session.execute(insert(AuditEvent), values)
                await uow.commit()
        store = Snapshots(snapshot_root(rt.config(SharingConfig), url), rt.db)
        started = time.perf_counter()
        snapshot = await store.refresh(tenant, "audit_events")
        took = time.perf_counter() - started
        return [snapshot.path / p.name for p in snapshot.parts], took
    finally:
        await rt.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    print_machine()
    python = delta_env.python()
    with tempfile.TemporaryDirectory(prefix="bench-sharing-") as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite+aiosqlite:///{work / 'deskhand.db'}"
        sharing_dir = work / "sharing"
        started = time.perf_counter()
        parts, snapshot_s = asyncio.run(prepare(url, args.rows, sharing_dir))
        print(f"prepared {args.rows:,} audit rows in {time.perf_counter() - started:.1f} s; "
              f"snapshot of {len(parts)} parquet part(s), "
              f"{sum(p.stat().st_size for p in parts) / 2**20:.1f} MiB, written in {snapshot_s:.1f} s")
        port = free_port()
        env = clean_env(DESKHAND_MODE="production", DESKHAND_DATABASE_URL=url,
                        DESKHAND_SECRET_KEY=SECRET, DESKHAND_HOST="127.0.0.1",
                        DESKHAND_PORT=str(port), DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}",
                        DESKHAND_SHARING_DIR=str(sharing_dir), DESKHAND_WORKERS="0",
                        DESKHAND_LOG_LEVEL="WARNING")
        profile = work / "bench.share"
        profile.write_text(json.dumps({"shareCredentialsVersion": 1, "bearerToken": BEARER,
                                       "endpoint": f"http://127.0.0.1:{port}/sharing/"}))
        with spawn([str(VENV_BIN / "deskhand"), "serve"], env, work) as proc:
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz", time.perf_counter())
            done = subprocess.run(
                [str(python), str(ROOT / "bench" / "_delta_read.py"), str(profile),
                 "deskhand.deskhand.audit_events", str(args.rounds), *map(str, parts)],
                capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stdout, done.stderr, proc.log_tail(), sep="\n")
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    client, local = statistics.median(result["client"]), statistics.median(result["local"])
    print(f"{'reader':<31} {'median s':>9} {'min s':>7} {'rows/s (median)':>16}")
    for name, times in (("delta-sharing client /sharing/", result["client"]),
                        ("pyarrow local, same conversion", result["local"]),
                        ("pyarrow local, defaults", result["local_default"])):
        print(f"{name:<31} {statistics.median(times):>9.2f} {min(times):>7.2f} "
              f"{rows / statistics.median(times):>16,.0f}")
    ratio = local / client
    ok = rows == args.rows and ratio >= GOAL
    print(f"{'PASS' if ok else 'FAIL'}  client rows/s = {ratio:.2f}x local (goal >= {GOAL}x), "
          f"{rows:,} rows read")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
