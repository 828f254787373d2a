"""Batch writes from rows bound as one parameter (storage/batch_rows: SQLite's JSON array,
PostgreSQL's array a column) store what an executemany stores: the same datetimes and JSON, the
same integers and strings, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import String, cast, literal, select
from sqlalchemy.dialects import sqlite

from storage.base import Repo
from storage.batch_rows import bind, bind_rows, insert_rows, rows_source
from storage.db import Database
from storage.devices import Device
from storage.tenants import TenantRepo

DEVICES = Device.__table__
KEYS = ["name", "serial", "last_seen", "attributes", "retired_at"]
STORED = (Device.name, Device.serial, Device.last_seen, cast(Device.attributes, String),
          Device.retired_at, Device.tenant_id)


async def test_rows_bound_as_one_parameter_store_what_executemany_stores(
        database: Database) -> None:
    async with database.uow() as uow:
        repo = uow.repo(Repo)
        tenant = (await uow.repo(TenantRepo).ensure("t", "T")).id
        seen = datetime(2026, 1, 2, 5, 6, 7, tzinfo=timezone(timedelta(hours=2)))
        rows = [{"name": f"{way}-é😀\"\\", "serial": None, "last_seen": seen,
                 "attributes": {"a": [1]}, "retired_at": None} for way in ("many", "one")]
        s = uow.session
        await s.execute(repo.insert(DEVICES), [{**rows[0], "tenant_id": tenant}])
        inserted = await s.execute(insert_rows(
            repo.insert(DEVICES), KEYS, {"tenant_id": literal(tenant)}, postgres=repo.postgres
        ).returning(DEVICES.c.name), bind_rows(DEVICES, KEYS, rows[1:], repo.dialect))
        assert inserted.scalars().all() == [rows[1]["name"]]
        stored = (await s.execute(select(*STORED).order_by(Device.id))).all()
        assert [r[0] for r in stored] == [row["name"] for row in rows]
        assert stored[0][1:] == stored[1][1:]
        assert stored[1][2] == seen.astimezone(UTC)

        # An UPDATE ... FROM the bound rows: each row reaches its own device.
        columns = [DEVICES.c.id, DEVICES.c.serial, DEVICES.c.last_seen]
        ids = (await s.execute(select(Device.id).order_by(Device.id))).scalars().all()
        later = seen + timedelta(days=1)
        v = rows_source(columns, postgres=repo.postgres)
        await s.execute(DEVICES.update().where(DEVICES.c.id == v.c.id).values(
            serial=v.c.serial, last_seen=v.c.last_seen),
            bind(columns, [[ids[0], "S-1", later], [ids[1], None, seen]], repo.dialect))
        assert (await s.execute(select(Device.serial, Device.last_seen).order_by(
            Device.id))).all() == [("S-1", later.astimezone(UTC)), (None, seen.astimezone(UTC))]


def test_sqlite_refuses_a_nul_as_postgresql_does() -> None:
    with pytest.raises(ValueError, match="NUL"):  # SQLite's json_extract would cut it
        bind_rows(DEVICES, ["name"], [{"name": "a\x00b"}], sqlite.dialect())
