"""Storage on SQLite and PostgreSQL: migrations, repositories, unit of work, audit, claims, time."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, StatementError

from storage import migrate
from storage.audit import AuditEvent, AuditRepo
from storage.base import load_all_tables
from storage.claims import ClaimRepo, JobClaim
from storage.db import Database
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo, RoleAssignment
from storage.tenants import SettingsRepo, TenantRepo
from storage.uow import UnitOfWork


async def _tenant(db: Database, slug: str = "acme") -> int:
    async with db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure(slug, slug.title())
        await uow.commit()
        return tenant.id


async def test_migrations_apply_and_are_current(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert await migrate.current_revision(db.engine) is None
        assert not await migrate.is_current(db.engine)
        await migrate.upgrade(db.engine)
        assert await migrate.is_current(db.engine)
        assert await migrate.current_revision(db.engine) == migrate.head_revision()
        await migrate.upgrade(db.engine)  # a second run is a no-op, not an error
        assert await migrate.is_current(db.engine)
    finally:
        await db.dispose()


async def test_directory_round_trip(database: Database) -> None:
    t = await _tenant(database)
    async with database.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        ann = await directory.upsert_principal(t, "  Ann@Example.com ", "Ann")
        bob = await directory.upsert_principal(t, "bob@example.com", "Bob", active=False)
        await directory.link_identity(t, ann.id, "slack", "T1", "U1", "ann")
        desk = await directory.ensure_group(t, "Service Desk")
        assert (await directory.ensure_group(t, "service desk")).id == desk.id
        await directory.add_member(desk.id, ann.id)
        await directory.add_member(desk.id, ann.id)  # twice is harmless
        await uow.commit()
    async with database.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        found = await directory.principal_by_email(t, "ANN@example.com")
        assert found is not None and (found.email, found.display_name) == ("ann@example.com", "Ann")
        assert [p.email for p in await directory.principals(t)] == ["ann@example.com",
                                                                    "bob@example.com"]
        assert (await directory.principal(bob.id)).active is False  # type: ignore[union-attr]
        link = await directory.identity("slack", "T1", "U1")
        assert link is not None and link.principal_id == ann.id
        assert await directory.identity("slack", "T2", "U1") is None
        # Re-linking the same chat account moves it, it does not duplicate it.
        await directory.link_identity(t, bob.id, "slack", "T1", "U1")
        assert [i.principal_id for i in await directory.identities_of(bob.id)] == [bob.id]
        assert await directory.identities_of(ann.id) == []
        assert [g.display_name for g in await directory.groups_of(ann.id)] == ["Service Desk"]
        assert await directory.groups_of(bob.id) == []
        assert (await directory.group_by_name(t, " SERVICE DESK ")) is not None
        await directory.upsert_principal(t, "ann@example.com", "Ann Lee")
        await uow.commit()
    async with database.uow() as uow:
        again = await uow.repo(DirectoryRepo).principal_by_email(t, "ann@example.com")
        assert again is not None and again.display_name == "Ann Lee"


async def test_roles_and_assignments_round_trip(database: Database) -> None:
    t = await _tenant(database)
    other = await _tenant(database, "other")
    async with database.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        rbac = uow.repo(RbacRepo)
        role = await rbac.add_role(t, "Night Shift", ["device.read", "device.lock"], "nights")
        ann = await directory.upsert_principal(t, "ann@example.com", "Ann")
        group = await directory.ensure_group(t, "Ops")
        await directory.add_member(group.id, ann.id)
        direct = await rbac.add_assignment(RoleAssignment(
            tenant_id=t, role_id=role.id, principal_id=ann.id, granted_by="test",
            device_groups=["London"], instruction_sets=["Basics"]))
        await rbac.add_assignment(RoleAssignment(
            tenant_id=t, role_id=role.id, group_id=group.id, granted_by="test"))
        await uow.commit()
    async with database.uow() as uow:
        rbac = uow.repo(RbacRepo)
        found = await rbac.role_by_name(t, "night-shift")
        assert found is not None and found.permissions == ["device.lock", "device.read"]
        assert await rbac.role_by_name(other, "Night Shift") is None
        rows = await rbac.assignments_for(t, ann.id)  # direct, and through Ops membership
        assert [(a.principal_id, a.group_id, g) for a, _, g in rows] == [
            (ann.id, None, None), (None, group.id, "Ops")]
        assert (rows[0][0].device_groups, rows[0][0].devices, rows[0][0].instruction_sets) == (
            ["London"], None, ["Basics"])
        bob = await uow.repo(DirectoryRepo).upsert_principal(t, "bob@example.com", "Bob")
        assert await rbac.assignments_for(t, bob.id) == []  # not in Ops, nothing direct
        assert await rbac.assignments_for(other, ann.id) == []
        assert await rbac.assignment(other, direct.id) is None
        assert await rbac.delete_assignment(t, direct.id)
        assert not await rbac.delete_assignment(t, direct.id)
        await uow.commit()
    async with database.uow() as uow:
        assert [a.group_id for a, _ in await uow.repo(RbacRepo).assignments(t)] == [group.id]


async def test_devices_page_by_keyset(database: Database) -> None:
    t = await _tenant(database)
    names = [f"PC-{n:03d}" for n in range(1, 26)]
    async with database.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        north = await inventory.ensure_group(t, "North")
        south = await inventory.ensure_group(t, "South")
        for name in random.Random(7).sample(names, len(names)):
            group = north if int(name[-3:]) % 2 else south
            await inventory.upsert(t, name, fqdn=f"{name.lower()}.corp", serial=f"SN{name[-3:]}",
                                   management_group_id=group.id, attributes={"n": name})
        await uow.commit()
    async with database.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        seen: list[str] = []
        after = None
        while True:
            page = await inventory.page(t, query=None, group_ids=None, after=after, limit=10)
            if not page:
                break
            seen += [d.name for d, _ in page]
            after = page[-1][0].name
        assert seen == names
        north_only = await inventory.page(t, query=None, group_ids=[north.id], after=None, limit=50)
        assert {g for _, g in north_only} == {"North"} and len(north_only) == 13
        assert [d.name for d, _ in await inventory.page(
            t, query="pc-00", group_ids=None, after="PC-005", limit=50)] == names[5:9]
        assert await inventory.count(t) == 25
        by_fqdn = await inventory.find(t, "PC-007.CORP")
        assert by_fqdn is not None and by_fqdn.attributes == {"n": "PC-007"}
        assert (await inventory.find(t, "sn012")).name == "PC-012"  # type: ignore[union-attr]
        assert await inventory.find(t, "PC-999") is None


async def test_tenant_settings_round_trip(database: Database) -> None:
    t = await _tenant(database)
    async with database.uow() as uow:
        assert await uow.repo(SettingsRepo).get(t) == {}
        await uow.repo(SettingsRepo).put(t, {"page_size": 25}, "ann@example.com")
        await uow.commit()
    async with database.uow() as uow:
        assert await uow.repo(SettingsRepo).get(t) == {"page_size": 25}
        await uow.repo(SettingsRepo).put(t, {"page_size": 50, "enable_approval": False}, "bob@example.com")
        await uow.commit()
    async with database.uow() as uow:
        assert await uow.repo(SettingsRepo).get(t) == {"page_size": 50, "enable_approval": False}


async def test_unit_of_work_rolls_back_unless_committed(database: Database) -> None:
    t = await _tenant(database)
    async with database.uow() as uow:
        await uow.repo(DirectoryRepo).upsert_principal(t, "forgotten@example.com", "No commit")
    with pytest.raises(RuntimeError, match="boom"):
        async with database.uow() as uow:
            await uow.repo(DirectoryRepo).upsert_principal(t, "failed@example.com", "Failed")
            raise RuntimeError("boom")
    async with database.uow() as uow:
        await uow.repo(DirectoryRepo).upsert_principal(t, "kept@example.com", "Kept")
        await uow.commit()
    async with database.uow() as uow:
        assert [p.email for p in await uow.repo(DirectoryRepo).principals(t)] == ["kept@example.com"]
    with pytest.raises(RuntimeError, match="outside `async with`"):
        _ = UnitOfWork(database.sessions).session


async def test_unit_of_work_builds_each_repository_once(database: Database) -> None:
    uow = database.uow()
    with pytest.raises(RuntimeError, match="outside `async with`"):
        uow.repo(DirectoryRepo)
    async with uow:
        directory = uow.repo(DirectoryRepo)
        assert uow.repo(DirectoryRepo) is directory and directory.s is uow.session
    async with uow:  # a new session: its repositories are built again
        assert uow.repo(DirectoryRepo) is not directory
        assert uow.repo(DirectoryRepo).s is uow.session


async def test_every_storage_module_table_matches_the_migrations(database: Database) -> None:
    """The metadata Alembic sees (every storage module's tables) is what migrations built."""
    metadata = load_all_tables()
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(
            MigrationContext.configure(c, opts={"compare_type": True,
                                                "include_name": migrate.include_name}), metadata))
    assert diff == []


def _event(t: int, **kw: object) -> AuditEvent:
    values: dict[str, object] = {"tenant_id": t, "correlation_id": "c1", "kind": "command",
                                 "action": "devices", "outcome": "ok"}
    values.update(kw)
    return AuditEvent(**values)


async def test_audit_events_are_append_only(database: Database) -> None:
    t = await _tenant(database)
    async with database.uow() as uow:
        await uow.repo(AuditRepo).append(_event(t, actor_email="ann@example.com", target="PC-1"))
        await uow.repo(AuditRepo).append(_event(t, actor_email="bob@example.com", outcome="denied"))
        await uow.commit()
    for statement in ("UPDATE audit_events SET outcome = 'forged'", "DELETE FROM audit_events"):
        async with database.uow() as uow:
            with pytest.raises(DBAPIError, match="audit_events is append-only"):
                await uow.session.execute(text(statement))
    async with database.uow() as uow:
        event = (await uow.repo(AuditRepo).query(t, actor_email="ANN@example.com"))[0]
        event.outcome = "forged"
        with pytest.raises(DBAPIError, match="append-only"):
            await uow.commit()
    async with database.uow() as uow:
        audit = uow.repo(AuditRepo)
        events = await audit.query(t)
        assert [e.outcome for e in events] == ["denied", "ok"]  # newest first, untouched
        assert [e.outcome for e in await audit.query(t, target="pc-1")] == ["ok"]
        assert [e.actor_email for e in await audit.query(t, before_id=events[0].id)] == [
            "ann@example.com"]


async def test_claim_once_has_exactly_one_winner_under_a_race(database: Database) -> None:
    async def contender(n: int, key: str) -> bool:
        async with database.uow() as uow:
            won = await uow.repo(ClaimRepo).claim_once("reminder", key, f"replica-{n}")
            await uow.commit()
            return won

    results = await asyncio.gather(*(contender(n, "token-7:3d") for n in range(20)))
    assert sum(results) == 1
    async with database.uow() as uow:
        rows = (await uow.session.execute(select(JobClaim))).scalars().all()
        assert [(r.key, r.holder) for r in rows] == [("token-7:3d", f"replica-{results.index(True)}")]
    assert await contender(99, "token-7:1d")  # another key is a fresh claim
    assert not await contender(98, "token-7:3d")


async def test_claim_lease_is_exclusive_until_it_lapses(database: Database) -> None:
    async def lease(holder: str, ttl: float = 0.6) -> bool:
        async with database.uow() as uow:
            won = await uow.repo(ClaimRepo).claim_lease("sweep", "-", holder, timedelta(seconds=ttl))
            await uow.commit()
            return won

    assert await lease("a")
    assert not await lease("b")
    assert await lease("a")  # the holder renews
    assert not await lease("b")
    await asyncio.sleep(0.7)
    assert await lease("b")  # a stopped renewing: the lease lapsed
    assert not await lease("a")
    async with database.uow() as uow:
        await uow.repo(ClaimRepo).release("sweep", "-", "b")
        await uow.commit()
    assert await lease("a", ttl=60)


async def test_datetimes_round_trip_as_utc(database: Database) -> None:
    t = await _tenant(database)
    plus_five = timezone(timedelta(hours=5))
    seen = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=plus_five)
    async with database.uow() as uow:
        await uow.repo(DeviceRepo).upsert(t, "PC-1", last_seen=seen)
        await uow.repo(AuditRepo).append(_event(t, at=datetime(2026, 1, 1, 12, tzinfo=UTC)))
        await uow.repo(AuditRepo).append(_event(t, at=datetime(2026, 1, 1, 18, tzinfo=plus_five)))
        await uow.commit()
    async with database.uow() as uow:
        device = await uow.repo(DeviceRepo).find(t, "PC-1")
        assert device is not None and device.last_seen is not None
        assert device.last_seen == seen and device.last_seen.tzinfo == UTC
        assert device.last_seen.hour == 20 and device.last_seen.day == 28
        # 18:00+05:00 is 13:00 UTC: after noon UTC, whatever zone the filter is written in.
        since = datetime(2026, 1, 1, 17, 30, tzinfo=plus_five)
        assert [e.at.hour for e in await uow.repo(AuditRepo).query(t, since=since)] == [13]
    async with database.uow() as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.repo(DeviceRepo).upsert(t, "PC-2", last_seen=datetime(2026, 1, 1))
