"""Reminder sweep benchmark: the due-set query beside a full scan of the same table, same run.

What runs (in this process, on SQLite and on PostgreSQL):
  data      1,000,000 data-access tokens and 10,000 IdP certificates in one tenant, bulk-loaded
            (sqlite3 executemany / asyncpg COPY) into a database migrated by deskhand: created
            over the last two years with lifetimes 1m/3m/6m/1y, so about a quarter are live
            (pending or active) and the rest expired or revoked; certificates mostly retired.
  real      ReminderRepo.tokens_crossing / certificates_crossing, the sweep's own query: the rows
            whose expiry minus a mark (14, 7, 3, 1 days) fell since the previous sweep, five
            minutes ago (the job's interval), through the (state, expiry) index.
  scan      the same rows found by reading the whole table once (every mark's range OR-ed in
            one predicate): SQLite `NOT INDEXED`, PostgreSQL with index and bitmap scans off.
  sweep     bot.reminders.sweep on a started runtime (console only, so posts stay in memory):
            the query, a claim row per due reminder, the card, the post.
  catch-up  (informational) the first sweep's query, which has no previous sweep: every live row
            within 14 days of expiry.

Each figure is the median of --repeat runs at different clock times (after one unmeasured run).
Goal (issue 14): the due-set query (both tables) under 50 ms (p95), and at least 100x faster
than the scan, judged on the million-row token table (the 10,000-row certificate table's scan
takes a few milliseconds, near a query's fixed cost; its ratio is shown).
Usage: python bench/reminders.py [--tokens 1000000] [--certificates 10000] [--repeat 15]
       [--pg postgresql://postgres@127.0.0.1:5432/test] [--skip-pg]
Exit status 0 when every goal passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import Stats, print_machine  # noqa: E402

from bot import rbac_admin  # noqa: E402
from bot.bootstrap import Settings, attach_platforms, build_runtime  # noqa: E402
from bot.reminders import sweep  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from storage.directory import DirectoryRepo  # noqa: E402
from storage.reminders import ReminderRepo  # noqa: E402

GOAL_MS, GOAL_X = 50.0, 100.0
MARKS = [14, 7, 3, 1]
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=5)
LIFETIMES = {"1m": 30, "3m": 91, "6m": 182, "1y": 365}
SCAN_SQL = {  # the same rows in one pass over the whole table (every mark's range OR-ed)
    "data_access_tokens": "SELECT id FROM data_access_tokens {hint} WHERE state IN ('pending', "
                          "'active') AND tenant_id = :t AND ({ranges})",
    "idp_certificates": "SELECT id FROM idp_certificates {hint} WHERE state = 'active' AND "
                        "tenant_id = :t AND ({ranges})",
}
EXPIRY = {"data_access_tokens": "expires_at", "idp_certificates": "not_after"}


def token_rows(n: int, tenant: int, owner: int, rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(n):
        lifetime = rng.choice(list(LIFETIMES))
        created = NOW - timedelta(seconds=rng.uniform(0, 730 * 86400))
        expires = created + timedelta(days=LIFETIMES[lifetime])
        state = "expired" if expires <= NOW else rng.choices(
            ("active", "pending", "revoked"), (8, 1, 1))[0]
        rows.append((tenant, f"token-{i}", "", state, created, lifetime, uuid.uuid4().hex * 2,
                     owner, "bench@example.com", "{}", created, expires))
    return rows


def certificate_rows(n: int, tenant: int, rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(n):
        not_after = NOW + timedelta(seconds=rng.uniform(-3 * 365 * 86400, 365 * 86400))
        state = "retired" if not_after <= NOW else rng.choices(
            ("active", "available", "retired"), (1, 1, 8))[0]
        rows.append((tenant, f"{i:040X}", "CN=deskhand", state, not_after - timedelta(days=365),
                     not_after - timedelta(days=365), not_after, "-", "-", not_after))
    return rows


TOKEN_COLUMNS = ("tenant_id", "name", "description", "state", "state_since", "lifetime",
                 "secret_hash", "created_by_id", "created_by_email", "reply_to", "created_at",
                 "expires_at")
CERT_COLUMNS = ("tenant_id", "thumbprint", "subject", "state", "state_since", "not_before",
                "not_after", "certificate_pem", "private_key", "created_at")


def load_sqlite(path: Path, tokens: list[tuple[Any, ...]], certs: list[tuple[Any, ...]]) -> None:
    def plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(_stored(v) if isinstance(v, datetime) else v for v in row)

    with sqlite3.connect(path) as conn:
        for table, columns, rows in (("data_access_tokens", TOKEN_COLUMNS, tokens),
                                     ("idp_certificates", CERT_COLUMNS, certs)):
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                             (plain(r) for r in rows))


async def load_pg(url: str, tokens: list[tuple[Any, ...]], certs: list[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("data_access_tokens", records=tokens,
                                         columns=list(TOKEN_COLUMNS))
        await conn.copy_records_to_table("idp_certificates", records=certs,
                                         columns=list(CERT_COLUMNS))
        await conn.execute("ANALYZE")  # what autovacuum does after a load this size
    finally:
        await conn.close()


async def timed(fn: Callable[[datetime], Awaitable[int]], repeat: int) -> tuple[Stats, int]:
    await fn(NOW)  # warm-up, unmeasured
    times, found = [], 0
    for i in range(repeat):
        at = NOW + i * INTERVAL
        started = time.perf_counter()
        found += await fn(at)
        times.append((time.perf_counter() - started) * 1000)
    return Stats.of(times), found


async def real_query(rt: Runtime, at: datetime, since: datetime | None,
                     tables: tuple[str, ...] = tuple(SCAN_SQL)) -> int:
    """The sweep's own due queries (ReminderRepo), in one unit of work as the sweep runs them."""
    found = 0
    async with rt.db.uow() as uow:
        repo = uow.repo(ReminderRepo)
        if "data_access_tokens" in tables:
            found += len(await repo.tokens_crossing(rt.tenant_id, since, at, MARKS))
        if "idp_certificates" in tables:
            found += len(await repo.certificates_crossing(rt.tenant_id, since, at, MARKS))
    return found


def _stored(at: datetime) -> str:
    """A time as deskhand's SQLite rows hold it (naive UTC text, microseconds)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


async def scan_query(rt: Runtime, at: datetime, since: datetime,
                     tables: tuple[str, ...] = tuple(SCAN_SQL)) -> int:
    """The real query's rows, found by reading the whole table once."""
    pg = rt.db.engine.dialect.name == "postgresql"
    found = 0
    async with rt.db.uow() as uow:
        if pg:
            for knob in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
                await uow.session.execute(text(f"SET LOCAL {knob} = off"))
        for table in tables:
            sql = SCAN_SQL[table]
            args: dict[str, Any] = {"t": rt.tenant_id}
            ranges = []
            for d in MARKS:
                low, high = max(at, since + timedelta(days=d)), at + timedelta(days=d)
                args[f"l{d}"], args[f"h{d}"] = (low, high) if pg else (_stored(low), _stored(high))
                ranges.append(f"({EXPIRY[table]} > :l{d} AND {EXPIRY[table]} <= :h{d})")
            query = sql.format(hint="" if pg else "NOT INDEXED", ranges=" OR ".join(ranges))
            found += len({r[0] for r in await uow.session.execute(text(query), args)})
    return found


async def plan(rt: Runtime) -> str:
    """How the database runs the real query's token range (one mark)."""
    sql = ("SELECT id FROM data_access_tokens WHERE state IN ('pending', 'active') AND "
           "tenant_id = :t AND expires_at > :low AND expires_at <= :high")
    low, high = NOW + timedelta(days=14) - INTERVAL, NOW + timedelta(days=14)
    pg = rt.db.engine.dialect.name == "postgresql"
    args = {"t": rt.tenant_id, "low": low if pg else _stored(low),
            "high": high if pg else _stored(high)}
    async with rt.db.uow() as uow:
        rows = await uow.session.execute(text(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + sql),
                                         args)
        return " / ".join(str(r[-1]) for r in rows)


async def run_backend(name: str, url: str, load: Callable[[int, int], Awaitable[None]],
                      repeat: int) -> list[str]:
    settings = Settings(database_url=url, mode="dev", secret_key="bench-" + "k" * 32,
                        tenant="bench", tenant_name="Bench")
    rt = build_runtime(settings)
    await rt.start(upgrade=True)  # the schema, the tenant and the tokens' owner
    async with rt.db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        await directory.upsert_principal(rt.tenant_id, "bench@example.com", "Bench Owner")
        owner = await directory.principal_by_email(rt.tenant_id, "bench@example.com")
        await rbac_admin.grant(uow, rt.tenant_id, rbac_admin.Granter("bench"),
                               "Infrastructure Admin", email="bench@example.com")
        await uow.commit()
    assert owner is not None
    tenant = rt.tenant_id
    await rt.stop()
    started = time.perf_counter()
    await load(tenant, owner.id)
    loaded = time.perf_counter() - started
    rt = build_runtime(settings)
    rt.run_jobs = False  # no scheduled sweep behind the measured ones
    attach_platforms(rt)
    await rt.start()
    try:
        print(f"{name}: loaded in {loaded:.0f} s; plan: {await plan(rt)}")
        verdicts = []
        for table, rows in (("data_access_tokens", "tokens"), ("idp_certificates", "certificates")):
            real, due = await timed(lambda at, t=(table,): real_query(rt, at, at - INTERVAL, t),
                                    repeat)
            scan, scanned = await timed(lambda at, t=(table,): scan_query(rt, at, at - INTERVAL, t),
                                        repeat)
            assert due == scanned, f"{table}: the scan found {scanned} rows, the query {due}"
            ratio = scan.median / real.median
            print(f"  {rows:12} real query median {real.median:7.2f} ms p95 {real.p95:7.2f} ms "
                  f"({due} due in all); scan median {scan.median:7.2f} ms -> {ratio:.0f}x")
            if table == "data_access_tokens":  # the ratio goal: the million-row table
                verdicts.append(f"{'PASS' if ratio >= GOAL_X else 'FAIL'} {name}: the token "
                                f"query is {ratio:.0f}x faster than the scan (>= {GOAL_X:.0f}x)")
        both, _ = await timed(lambda at: real_query(rt, at, at - INTERVAL), repeat)
        catch_up, backlog = await timed(lambda at: real_query(rt, at, None), max(3, repeat // 5))
        swept = await timed_sweep(rt, repeat)
        print(f"  due set (both queries) median {both.median:7.2f} ms p95 {both.p95:7.2f} ms")
        print(f"  whole sweep            median {swept.median:7.2f} ms p95 {swept.p95:7.2f} ms")
        print(f"  catch-up (first sweep) median {catch_up.median:7.2f} ms ({backlog} rows)")
        verdicts.insert(0, f"{'PASS' if both.p95 < GOAL_MS else 'FAIL'} {name}: due-set query "
                           f"p95 {both.p95:.2f} ms < {GOAL_MS:.0f} ms")
        return verdicts
    finally:
        await rt.stop()


async def timed_sweep(rt: Runtime, repeat: int) -> Stats:
    async with rt.db.uow() as uow:  # the previous run, five minutes ago
        for source in rt.registry.reminders:
            await uow.repo(ReminderRepo).advance(rt.tenant_id, source.kind, NOW - INTERVAL)
        await uow.commit()
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        await sweep(rt, rt.registry.reminders, now=NOW + i * INTERVAL)
        times.append((time.perf_counter() - started) * 1000)
    return Stats.of(times)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    print_machine()
    rng = random.Random(14)

    def rows(tenant: int, owner: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        return (token_rows(args.tokens, tenant, owner, rng),
                certificate_rows(args.certificates, tenant, rng))

    verdicts = []
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp:
        db = Path(tmp) / "deskhand.db"

        async def sqlite_load(tenant: int, owner: int) -> None:
            load_sqlite(db, *rows(tenant, owner))

        verdicts += await run_backend("SQLite", f"sqlite+aiosqlite:///{db}", sqlite_load,
                                      args.repeat)
    if not args.skip_pg:
        name = f"deskhand_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.pg)
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = args.pg.rsplit("/", 1)[0]
        try:
            async def pg_load(tenant: int, owner: int) -> None:
                await load_pg(f"{base}/{name}", *rows(tenant, owner))

            verdicts += await run_backend(
                "PostgreSQL", f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}",
                pg_load, args.repeat)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print("\n".join(verdicts))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
