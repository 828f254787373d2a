"""SQLite's batch writes from rows bound as one JSON parameter (storage/json_rows) store what an
executemany stores: the same text for datetimes and JSON, the same integers and strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite

from storage import migrate
from storage.db import Database
from storage.devices import Device
from storage.json_rows import encode_rows, select_rows
from storage.tenants import TenantRepo
from tests.conftest import sqlite_url

DEVICES = Device.__table__
KEYS = ["tenant_id", "name", "serial", "last_seen", "attributes", "retired_at"]


async def test_rows_from_json_store_what_executemany_stores(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    try:
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            tenant = (await uow.repo(TenantRepo).ensure("t", "T")).id
            seen = datetime(2026, 1, 2, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
            rows = [{"tenant_id": tenant, "name": f"{way}-é😀\"\\", "serial": None,
                     "last_seen": seen, "attributes": {"a": [1]}, "retired_at": None}
                    for way in ("many", "json")]
            s = uow.session
            await s.execute(sqlite.insert(DEVICES), rows[:1])
            await s.execute(sqlite.insert(DEVICES).from_select(KEYS, select_rows(DEVICES, KEYS)),
                            encode_rows(DEVICES, KEYS, rows[1:], s.get_bind().dialect))
            stored = (await s.execute(text(
                "SELECT name, serial, last_seen, typeof(last_seen), attributes, tenant_id, "
                "typeof(tenant_id) FROM devices ORDER BY id"))).all()
            assert [r[1:] for r in stored[:1]] == [r[1:] for r in stored[1:]]
            assert [r[0] for r in stored] == [row["name"] for row in rows]
            assert (await s.execute(select(Device.last_seen).where(
                Device.name == rows[1]["name"]))).scalar_one() == seen.astimezone(UTC)
            with pytest.raises(ValueError, match="NUL"):  # SQLite's json_extract would cut it
                encode_rows(DEVICES, KEYS, [{**rows[0], "name": "a\x00b"}], s.get_bind().dialect)
    finally:
        await db.dispose()
