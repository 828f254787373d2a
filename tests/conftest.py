"""Shared fixtures: a migrated database (SQLite, or PostgreSQL per test), a runtime, a live server.

PostgreSQL tests create and drop their own database on DESKHAND_TEST_PG_URL
(default: the local server at 127.0.0.1:5432, database `test`).

A runtime's SQLite file starts as a copy of one migrated once per test session (make_settings):
migrating an empty file takes ~0.3 s, which most of the suite's tests would each pay. The
migrations still run from empty here, in the migration tests and in every `deskhand` process a
test starts on a fresh file.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from bot.bootstrap import Settings, build_app, build_runtime
from bot.demo import seed
from bot.runtime import Runtime
from bot.settings import CoreSettings
from storage import migrate
from storage.db import Database

PG_ADMIN = os.environ.get("DESKHAND_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# The scheduled inventory sync would reshape a test's fleet from its simulators a minute in (and
# in the processes tests start, which inherit this); the inventory tests run their syncs.
os.environ.setdefault("DESKHAND_INVENTORY_SYNC_SECONDS", "0")
SECRET = "test-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"


@cache
def _migrated_template() -> Path:
    """The session's migrated SQLite file, made on first use."""
    folder = Path(tempfile.mkdtemp(prefix="deskhand-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "deskhand.db"

    async def migrated() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(db.engine)
        finally:
            await db.dispose()  # the last connection's close folds the WAL into the file

    # Its own thread and loop: the caller may be inside a running event loop.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrated()).result()
    return path


def from_template(url: str) -> str:
    """`url`; an SQLite file there that does not exist yet is first made a copy of the session's
    migrated one, so that migrating it to head has nothing to do."""
    if url.startswith("sqlite+aiosqlite:///"):
        target = Path(url.removeprefix("sqlite+aiosqlite:///"))
        if target.parent.is_dir() and not target.exists():
            shutil.copyfile(_migrated_template(), target)
    return url


async def create_pg_database() -> tuple[str, str]:
    """A fresh PostgreSQL database; returns (name, SQLAlchemy URL)."""
    name = f"deskhand_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    host = PG_ADMIN.split("@", 1)[1].rsplit("/", 1)[0]
    user = PG_ADMIN.split("://", 1)[1].split("@", 1)[0]
    return name, f"postgresql+asyncpg://{user}@{host}/{name}"


async def drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    name, url = await create_pg_database()
    yield url
    await drop_pg_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Storage tests run on both backends; PostgreSQL is never skipped."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    name, url = await create_pg_database()
    yield url
    await drop_pg_database(name)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(from_template(db_url))
    await migrate.upgrade(db.engine)
    yield db
    await db.dispose()


def make_settings(url: str, **kw: object) -> CoreSettings:
    """Settings for a test's runtime on `url` (an SQLite file starts from the template)."""
    from_template(url)
    values: dict[str, object] = {"database_url": url, "mode": "dev", "secret_key": SECRET,
                                 "tenant": "acme", "tenant_name": "Acme"}
    values.update(kw)
    return Settings(**values)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A started runtime on SQLite with the demo fleet and personas seeded."""
    rt = build_runtime(make_settings(sqlite_url(tmp_path)))
    await rt.start(upgrade=True)
    async with rt.db.uow() as uow:
        await seed(uow, rt.tenant_id)
        await uow.commit()
    yield rt
    await rt.stop()


@dataclass
class LiveServer:
    runtime: Runtime
    url: str


async def start_server(settings: CoreSettings) -> tuple[web.AppRunner, LiveServer]:
    rt = build_runtime(settings)
    app = build_app(rt, upgrade=True)

    async def _seed(_: web.Application) -> None:
        async with rt.db.uow() as uow:
            await seed(uow, rt.tenant_id)
            await uow.commit()

    app.on_startup.append(_seed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    return runner, LiveServer(rt, f"http://127.0.0.1:{settings.port}")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """deskhand listening on a free loopback port, demo-seeded, console on."""
    port = free_port()
    settings = make_settings(sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}")
    runner, live = await start_server(settings)
    yield live
    await runner.cleanup()
    await asyncio.sleep(0)
