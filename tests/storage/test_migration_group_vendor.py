"""Migration 0025: management groups linked to 1E become followed by their 1E id (the vendor
group they are), and back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage import migrate
from storage.db import Database
from tests.storage.test_migration_subjects import _downgrade, _rows


async def test_1e_linked_groups_are_followed_by_their_id_and_back(db_url: str) -> None:
    db = Database(db_url)
    engine = db.engine
    try:
        await migrate.upgrade(engine, "0022")
        now = datetime.now(UTC).replace(microsecond=0)
        stamp = now.replace(tzinfo=None) if db.dialect == "sqlite" else now
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO tenants (id, slug, name, created_at) "
                                    "VALUES (1, 'acme', 'Acme', :t)"), {"t": stamp})
            await conn.execute(text(
                "INSERT INTO management_groups (id, tenant_id, name, description, tachyon_id) "
                "VALUES (1, 1, 'London', '', '17'), (2, 1, 'Made by hand', '', NULL)"))

        await migrate.upgrade(engine)
        assert await _rows(engine, "SELECT name, vendor, vendor_ref, tachyon_id FROM "
                                   "management_groups ORDER BY id") == [
            ("London", "1e", "17", "17"), ("Made by hand", None, None, None)]

        await _downgrade(engine, "0022")
        assert await _rows(engine, "SELECT name, tachyon_id FROM management_groups ORDER BY id") \
            == [("London", "17"), ("Made by hand", None)]
        await migrate.upgrade(engine)
        assert await migrate.is_current(engine)
    finally:
        await db.dispose()
