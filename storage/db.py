"""Engine and session factory from the database URL; SQLite gets the pragmas it needs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_

from storage.pg_connect import connect_args
from storage.uow import UnitOfWork

# PostgreSQL connections of one process's engine: up to POOL_SIZE kept open, MAX_OVERFLOW more
# for a burst. Every process has one engine (the listener, each worker, each CLI command), so a
# deployment needs replicas x (1 + DESKHAND_WORKERS) x 20 connections (docs/operations.md).
POOL_SIZE = 10
MAX_OVERFLOW = 10
PING_IDLE = 5.0  # seconds a pooled PostgreSQL connection may sit unused before it is pinged
BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for its turn before "database is locked"
INLINE_BUSY_TIMEOUT = 1.0  # the same in SQLite's busy handler, on an event loop's thread
LAZY_COMMIT = "deskhand_lazy_commit"  # the execution option lazy() sets
_UNPINGED: ContextVar[bool] = ContextVar("deskhand_unpinged", default=False)  # see unpinged()


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


def create_engine(url: str, *, ping_idle: float = PING_IDLE, inline: bool = False,
                  **kwargs: Any) -> AsyncEngine:
    """`inline`: SQLite statements run on the event loop's thread (worker processes;
    storage/sqlite_inline.py). PostgreSQL ignores it."""
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)  # database errors in logs never carry row values
    if is_sqlite(url):
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(parsed, exc) from None
        from storage.sqlite_driver import dbapi  # one thread hop per statement, or none

        engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT},
                                     module=dbapi(inline), **kwargs)
        # deskhand's writers wait for their turn (the timeout above) outside SQLite; its busy
        # handler only waits for a writer outside deskhand, which on the loop's thread must
        # not stall the process for long
        busy_ms = int((INLINE_BUSY_TIMEOUT if inline else BUSY_TIMEOUT) * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # every commit survives the machine's crash too
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _lazy(conn: Any) -> None:  # see lazy(): the driver reads it until the transaction ends
            if conn.get_execution_options().get(LAZY_COMMIT):
                conn.connection.dbapi_connection.lazy = True

        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    # The connection returned last is taken first: work that comes one piece at a time (a job
    # after a job, a command after a command) keeps reusing one warm connection, not pinging
    # each of the pool's idle ones in turn, and the rest may be closed by the server's idle timeout.
    kwargs.setdefault("pool_use_lifo", True)
    stripped, tls = connect_args(url)  # libpq's sslmode & co. as asyncpg's ssl=
    engine = create_async_engine(stripped, connect_args=tls, **kwargs)
    _ping_when_idle(engine, ping_idle)
    return engine


def _ping_when_idle(engine: AsyncEngine, seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle `seconds` or more.

    SQLAlchemy's pool_pre_ping pings at every checkout: three round trips on asyncpg (BEGIN,
    `;`, ROLLBACK), a sixth of a command's CPU. A connection used moments ago is alive as far as
    a ping could tell; one that sat idle (a database restart or failover meanwhile) is pinged,
    and a dead one is replaced before the work runs on it, as pre-ping would. The ping is one
    round trip: `SELECT 1` in the simple query protocol, which needs neither a transaction nor a
    prepared statement (a pooler in transaction mode takes it too). SQLAlchemy's own ping wraps
    a prepared `;` in BEGIN and ROLLBACK: three round trips, and three wake-ups of an idle
    worker, each time a job or a heartbeat found its connection idle."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned")  # None: a new connection, alive
        if returned is not None and time.monotonic() - returned >= seconds and not _UNPINGED.get():
            try:
                await_(dbapi_conn.driver_connection.execute("SELECT 1"))
            except Exception as exc:  # the pool discards it and takes another
                raise DisconnectionError(f"idle connection is gone: {type(exc).__name__}") from exc


@contextmanager
def unpinged() -> Iterator[None]:
    """Connections taken inside are not pinged however long they sat idle: for a write that is
    itself a probe, whose failure is harmless (a worker's heartbeat). Should it find its
    connection dead, SQLAlchemy takes the error for a disconnect and replaces every connection
    the pool held, so the commands after it get live ones, as a ping would have given them."""
    token = _UNPINGED.set(True)
    try:
        yield
    finally:
        _UNPINGED.reset(token)


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work that is one statement: on PostgreSQL in autocommit, without the
    BEGIN and COMMIT round trips around it (the statement is atomic alone); SQLite's own."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def lazy(engine: AsyncEngine) -> AsyncEngine:
    """The engine for writes whose loss is harmless should the machine itself crash before the
    database next syncs its log (a process that dies loses nothing committed): a worker's
    heartbeat, lease renewals, the inbox's finish (lost, its sender hears the request "may not
    have finished"). On SQLite their commit skips the fsync (storage/sqlite_driver.py), which
    costs the process several wake-ups; the next ordinary commit makes them durable with its
    own, as SQLite's log is written in order. PostgreSQL's commits are its server's to tune
    (synchronous_commit)."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{LAZY_COMMIT: True})


async def commit_with_next(conn: AsyncConnection) -> None:
    """On SQLite, the next statement on `conn` commits its transaction in the same call on the
    connection's thread: one thread hop and one wake-up of the loop instead of two of each
    (storage/sqlite_driver.py). Only right before a transaction's last statement: SQLAlchemy's
    commit after it then finds nothing open. Should the statement fail, the rollback that
    follows clears it. Other databases: nothing to do."""
    if conn.dialect.name == "sqlite":
        raw: Any = (await conn.get_raw_connection()).dbapi_connection
        raw.commit_next = True


class Database:
    """Owns the engine; hands out units of work."""

    def __init__(self, url: str, *, inline: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, inline=inline)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.autocommit = autocommit(self.engine)
        self._reads = async_sessionmaker(self.autocommit, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def reads(self) -> UnitOfWork:
        """A unit of work for reads only (the command path, the jobs that run at rest): on
        PostgreSQL its statements run in autocommit, each its own snapshot, without the BEGIN and
        ROLLBACK round trips a transaction adds to a single SELECT. Nothing written through it is
        kept or undone."""
        return UnitOfWork(self._reads)

    async def dispose(self) -> None:
        await self.engine.dispose()
