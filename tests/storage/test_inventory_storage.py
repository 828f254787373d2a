"""Storage behind the inventory at 100,000 devices: the lower-cased match columns are indexed
(migration 0029, both ways, on SQLite and PostgreSQL), lookups and the merge search those
indexes, and job_claims pruning drops only what can never be asked for again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate
from storage.claims import ClaimRepo, JobClaim
from storage.db import Database
from storage.devices import DeviceRepo
from storage.inventory import InventoryRepo
from storage.inventory_records import Seen
from storage.tenants import TenantRepo

INDEXES = {f"ix_devices_tenant_lower_{c}": c for c in ("name", "fqdn", "serial")}


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    cfg = migrate.alembic_config(str(engine.url))

    def _do(connection: object) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_do)


async def _device_indexes(db: Database) -> dict[str, str]:
    """The devices table's index names and definitions, as the database has them."""
    sql = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices'"
           if db.dialect == "sqlite" else
           "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'devices'")
    async with db.engine.connect() as conn:
        return {str(n): str(d or "") for n, d in (await conn.execute(text(sql))).all()}


async def test_match_indexes_exist_after_migration_and_go_with_a_downgrade(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db.engine)
        found = await _device_indexes(db)
        for name, column in INDEXES.items():
            assert name in found, sorted(found)
            definition = found[name].lower().replace('"', "")
            assert "tenant_id" in definition and (  # PostgreSQL writes lower((name)::text)
                f"lower({column})" in definition or f"lower(({column})" in definition), definition
        await _downgrade(db.engine, "0028")
        assert not set(INDEXES) & set(await _device_indexes(db))
        await migrate.upgrade(db.engine)
        assert set(INDEXES) <= set(await _device_indexes(db))
    finally:
        await db.dispose()


async def _tenant(db: Database) -> int:
    async with db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("acme", "Acme")
        await uow.commit()
        return tenant.id


async def test_lookups_and_the_merge_search_the_match_indexes(tmp_path: Any) -> None:
    """SQLite picks an index by its own estimates: the statements deskhand sends for a device
    lookup and for a merge's matching are index searches, never a scan of the tenant (the
    match lists are bound as one JSON array each, read with json_each)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'plans.db'}")
    try:
        await migrate.upgrade(db.engine)
        tenant = await _tenant(db)
        now = datetime.now(UTC)
        fleet = [Seen(f"id-{n}", f"PC-{n:04d}", fqdn=f"pc-{n:04d}.corp.example.com",
                      serial=f"SN{n:06d}") for n in range(300)]
        async with db.uow() as uow:
            await uow.repo(InventoryRepo).merge_page(tenant, "1e", fleet, now)
            await uow.commit()
        sent: list[tuple[str, Any]] = []

        def seen(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
            head = statement.lstrip().upper()
            if ((head.startswith("SELECT") and "FROM devices" in statement)
                    or (head.startswith("UPDATE DEVICES") and "lower(" in statement)) and not many:
                sent.append((statement, params))

        event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        async with db.uow() as uow:
            assert (await uow.repo(DeviceRepo).find(tenant, "sn000042")) is not None
            new = [Seen(f"tv-{n}", f"pc-{n:04d}") for n in range(250, 350)]  # half known by name
            await uow.repo(InventoryRepo).merge_page(tenant, "teamviewer", new, now)
            wider = [Seen(f"ws-{n}", f"X-{n}", serial=f"SN{n:06d}") for n in range(5)]
            await uow.repo(InventoryRepo).merge_page(tenant, "workspace-one", wider, now)
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        assert len(sent) >= 3 and any("json_each" in st for st, _ in sent)
        async with db.engine.connect() as conn:
            for statement, params in sent:
                plan = " | ".join(str(r[-1]) for r in (await conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", params)).all())
                assert "SCAN devices" not in plan, (statement, plan)
                if "lower(devices.name)" in statement:
                    assert "ix_devices_tenant_lower_name (tenant_id=? AND <expr>=?)" in plan, plan
                if "lower(devices.serial)" in statement:
                    assert "ix_devices_tenant_lower_serial (tenant_id=? AND <expr>=?)" in plan, plan
    finally:
        await db.dispose()


async def test_prune_drops_past_once_claims_and_lapsed_leases_only(database: Database) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=3), now - timedelta(minutes=10)
    rows = [("sync.due", "1:100", old, None), ("sync.due", "1:172", recent, None),
            ("sync", "1", old, old + timedelta(minutes=30)),  # a holder died days ago
            ("sync", "2", old, now + timedelta(minutes=5)),  # an old claim, its lease still live
            ("other", "x", old, None)]
    async with database.uow() as uow:
        for job, key, at, until in rows:
            uow.session.add(JobClaim(job=job, key=key, holder="h", claimed_at=at, lease_until=until))
        await uow.commit()
    async with database.uow() as uow:
        claims = uow.repo(ClaimRepo)
        assert await claims.prune("sync.due", now - timedelta(days=1)) == 1
        assert await claims.prune("sync", now - timedelta(days=1)) == 1
        await uow.commit()
    async with database.uow() as uow:
        left = (await uow.session.execute(select(JobClaim.job, JobClaim.key))).all()
    assert sorted(left) == [("other", "x"), ("sync", "2"), ("sync.due", "1:172")]
