"""Migration 0028: a platform with a mapping is recorded as mapped, chat links get the org
column, and group names differing only in case (left by racing writes) are told apart so that
the case-insensitive unique index can be built; and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import migrate
from storage.db import Database
from tests.storage.test_migration_subjects import _downgrade, _rows


async def test_mapped_platforms_and_case_duplicate_groups_and_back(db_url: str) -> None:
    db = Database(db_url)
    engine = db.engine
    try:
        await migrate.upgrade(engine, "0027")
        now = datetime.now(UTC).replace(microsecond=0)
        stamp = now.replace(tzinfo=None) if db.dialect == "sqlite" else now
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO tenants (id, slug, name, created_at) "
                                    "VALUES (1, 'acme', 'Acme', :t), (2, 'beta', 'Beta', :t)"),
                               {"t": stamp})
            await conn.execute(text(
                "INSERT INTO chat_workspaces (id, tenant_id, platform, kind, external_id, "
                "created_at, created_by) VALUES (1, 2, 'slack', 'slack-team', 'T0002', :t, 'cli')"),
                {"t": stamp})
            await conn.execute(text(
                "INSERT INTO directory_groups (id, tenant_id, display_name, scim) VALUES "
                "(1, 1, 'Ops', true), (2, 1, 'OPS', true), (3, 2, 'ops', true), "
                "(4, 1, 'Dev', false)"))

        await migrate.upgrade(engine)
        assert await _rows(engine, "SELECT platform, by FROM mapped_platforms") == [
            ("slack", "migration 0028")]
        assert await _rows(engine, "SELECT id, display_name FROM directory_groups ORDER BY id") \
            == [(1, "Ops"), (2, "OPS (duplicate #2)"), (3, "ops"), (4, "Dev")]
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO directory_groups (tenant_id, display_name, "
                                        "scim) VALUES (1, 'DEV', false)"))

        await _downgrade(engine, "0027")
        assert await _rows(engine, "SELECT id, display_name FROM directory_groups ORDER BY id") \
            == [(1, "Ops"), (2, "OPS (duplicate #2)"), (3, "ops"), (4, "Dev")]
        await migrate.upgrade(engine)
        assert await migrate.is_current(engine)
    finally:
        await db.dispose()
