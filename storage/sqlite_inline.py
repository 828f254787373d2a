"""An aiosqlite connection that runs each call at once on the event loop's own thread.

aiosqlite hands every call to a thread of the connection's own and wakes the loop with the
result: per statement a wake of that thread, one of the loop, and a GIL hand-over or two. In a
worker process, where nothing waits on the loop for an ack, that hand-off cost more than the
small indexed statements it carried (bench/README.md, "SQLite on the worker's loop"); there the
statements run inline instead. Writers still take turns through the lock file
(storage/sqlite_lock.py), waiting for the turn on the loop, not in SQLite's busy handler, so
another process's long write never blocks this loop; only a writer outside deskhand can, for
up to the busy timeout the engine gives inline connections.

SQLAlchemy's adapter and ours drive aiosqlite.Connection through its queue: the queue here runs
what is put on it immediately and completes its future, so every path (statements, commit,
rollback, isolation level, close, server-side cursors) works unchanged and never suspends.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class _AtOnce:
    """Stands in for aiosqlite's queue to its thread: runs each call as it is put."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _AtOnce()  # type: ignore[assignment]  # the queue's one method, run at once

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start


def connect(database: Any, **kwargs: Any) -> InlineConnection:
    """As aiosqlite.connect, on the calling thread; the connection may be closed from another
    (SQLAlchemy's pool may), so sqlite3's same-thread check is off."""
    kwargs["check_same_thread"] = False
    return InlineConnection(partial(sqlite3.connect, database, **kwargs))
