"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of four.

aiosqlite runs each sqlite3 call on the connection's own thread and wakes the event loop with the
result. SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch,
close), and each wake costs more CPU than a small indexed statement itself: on the command path
they were a third of a command's work. This adapter runs the whole statement (cursor, execute,
fetch every row, close) as one call on that thread, and skips the rollback the pool issues on
check-in when the connection has no transaction open. Everything else (transactions, isolation,
errors, server-side cursors for streamed results) is SQLAlchemy's own adapter, unchanged.

Additions: every connection takes its turn to write through the database's lock file
(storage/sqlite_lock.py); a worker process's connections run on its event loop's thread, with
no hop at all (storage/sqlite_inline.py); a lazy transaction commits without an fsync
(storage/db.py, lazy()); and a transaction's last statement can carry its commit in the same
hop (storage/db.py, commit_with_next()).
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_

from storage.sqlite_inline import InlineConnection
from storage.sqlite_inline import connect as inline_connect
from storage.sqlite_lock import WriteLock, lock_path

_Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


def _run(conn: sqlite3.Connection, lock: WriteLock | None, lazy: bool, commit: bool, many: bool,
         operation: str, parameters: Any) -> _Outcome:
    """On the connection's thread: the statement from cursor to close, in its writer's turn;
    with `commit`, the transaction's commit too (storage/db.py, commit_with_next())."""
    if lazy and not conn.in_transaction:  # SQLite refuses to change it inside a transaction
        conn.execute("PRAGMA synchronous=NORMAL")
    if lock is not None:
        lock.before(conn, operation)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # rowcount is read after the fetch: for DML ... RETURNING sqlite3 counts as rows are read
        outcome = description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()
        if lock is not None:
            lock.after(conn)
    if commit:
        _end(conn, lock, True, lazy)
    return outcome


def _end(conn: sqlite3.Connection, lock: WriteLock | None, commit: bool, lazy: bool) -> None:
    """On the connection's thread: commit or roll back, then give the writer's turn back. A lazy
    transaction (storage/db.py, lazy()) ran with synchronous NORMAL, so its commit skipped the
    fsync; the connection is FULL again before anything else runs on it."""
    try:
        conn.commit() if commit else conn.rollback()
    finally:
        try:
            if lazy and not conn.in_transaction:  # a failed commit: the rollback to come resets it
                conn.execute("PRAGMA synchronous=FULL")
        finally:
            if lock is not None:
                lock.after(conn)


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one call on aiosqlite's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here (the stock adapter spends a thread hop on it).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._lastrowid: int | None = None
        self._rowcount, self._arraysize = -1, 1
        self._cursor = None  # type: ignore[assignment]

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # the sqlite3 cursor was closed on its thread

    def close(self) -> None:
        self._rows.clear()

    async def _call(self, many: bool, operation: Any, parameters: Any) -> None:
        conn = self._connection
        adapt = cast("OneHopConnection", self._adapt_connection)
        writer = adapt._writer
        if adapt.inline and writer is not None and writer.needed(conn._conn, operation):
            await writer.take()  # on the loop: not in _run, which would wait on its thread
        commit, adapt.commit_next = adapt.commit_next, False
        async with adapt._execute_mutex:
            outcome: _Outcome = await conn._execute(_run, conn._conn, writer, adapt.lazy, commit,
                                                    many, operation, parameters)
        if commit:  # ended: SQLAlchemy's commit to come finds nothing open
            adapt.lazy = False
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._call(False, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._call(True, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no result sets after the first")


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_writer", "commit_next", "lazy")
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass; mypy sees the base's exact type

    def __init__(self, dbapi: Any, connection: Any, writer: WriteLock | None) -> None:
        super().__init__(dbapi, connection)
        self._writer = writer  # storage/sqlite_lock.py
        self.lazy = False  # this transaction's commit skips the fsync (storage/db.py, lazy())
        self.commit_next = False  # the next statement commits too (storage/db.py, commit_with_next())

    @property
    def inline(self) -> bool:
        return isinstance(self._connection, InlineConnection)

    def _idle(self) -> bool:
        """No transaction open: sqlite3's commit and rollback would do nothing, yet the stock
        adapter crosses to the thread for them (the pool rolls back every connection it takes
        back; a read-only unit of work commits). in_transaction reads SQLite's autocommit flag;
        nothing is in flight on the connection then, as SQLAlchemy awaits its calls in turn."""
        conn = self._connection._connection
        return conn is not None and not conn.in_transaction

    def rollback(self) -> None:
        self.commit_next = False  # a transaction that ends otherwise must not leave it set
        if self.lazy or not self._idle():
            self._end(commit=False)

    def commit(self) -> None:
        self.commit_next = False
        if self.lazy or not self._idle():
            self._end(commit=True)

    def _end(self, commit: bool) -> None:
        conn = self._connection
        try:
            await_(conn._execute(_end, conn._conn, self._writer, commit, self.lazy))
            self.lazy = False
        except Exception as error:
            self._handle_exception(error)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._drop_turn()

    # SQLAlchemy ends a connection one of three ways (a cancelled task's is terminated); each
    # closes the lock file too, or the turn would stay with a connection that is gone.
    async def _terminate_graceful_close(self) -> None:
        try:
            await super()._terminate_graceful_close()
        finally:
            self._drop_turn()

    def _terminate_force_close(self) -> None:
        try:
            super()._terminate_force_close()
        finally:
            self._drop_turn()

    def _drop_turn(self) -> None:
        if self._writer is not None:
            self._writer.close()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, inline: bool) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.inline = inline

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        path = lock_path(arg[0] if arg else kw.get("database"), bool(kw.get("uri")))
        writer = WriteLock(path, float(kw.get("timeout", 5.0))) if path else None
        connection: Any
        if self.inline:
            connection = await_(inline_connect(*arg, **kw))
        else:
            connection = super().connect(*arg, **kw)._connection
        return OneHopConnection(self, connection, writer)


def dbapi(inline: bool = False) -> OneHopDBAPI:
    """The module to hand `create_async_engine(..., module=...)` for sqlite+aiosqlite URLs; with
    `inline`, statements run on the event loop's thread (storage/sqlite_inline.py)."""
    return OneHopDBAPI(inline)
