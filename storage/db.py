"""Engine and session factory from the database URL; SQLite gets the pragmas it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.pg_connect import connect_args
from storage.uow import UnitOfWork

# PostgreSQL connections of one process's engine: up to POOL_SIZE kept open, MAX_OVERFLOW more
# for a burst. Every process has one engine (the listener, each worker, each CLI command), so a
# deployment needs replicas x (1 + DESKHAND_WORKERS) x 20 connections (docs/operations.md).
POOL_SIZE = 10
MAX_OVERFLOW = 10


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message names it (without its password)
    and says why in one line."""

    def __init__(self, url: str | URL, reason: BaseException | str) -> None:
        if isinstance(reason, BaseException):
            # A driver error wrapped by SQLAlchemy says it best itself ("database x does not
            # exist"); SQLAlchemy's own text adds the statement and a help link.
            reason = str(getattr(reason, "orig", None) or reason) or type(reason).__name__
        self.url = make_url(url).render_as_string(hide_password=True)
        super().__init__(f"cannot use the database {self.url}: {reason.splitlines()[0][:200]}")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)  # database errors in logs never carry row values
    if is_sqlite(url):
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(parsed, exc) from None
        from storage.sqlite_driver import dbapi  # one thread hop per statement

        engine = create_async_engine(url, connect_args={"timeout": 30}, module=dbapi(), **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    stripped, tls = connect_args(url)  # libpq's sslmode & co. as asyncpg's ssl=
    return create_async_engine(stripped, connect_args=tls, **kwargs)


class Database:
    """Owns the engine; hands out units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def dispose(self) -> None:
        await self.engine.dispose()
