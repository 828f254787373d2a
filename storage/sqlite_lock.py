"""Writers to one SQLite file take turns through a lock file, so a waiting writer starts as soon
as the one before it commits.

SQLite lets one connection write at a time. A writer that finds the database locked sleeps in
SQLite's busy handler, 1, 2, 5, 10, 15, 20, 25 ... up to 100 ms a try, however soon the lock is
let go: with the listener storing requests and a worker claiming and finishing them, both
processes spent most of a busy second asleep there (bench/README.md, "SQLite writers"). Here a
connection takes an exclusive flock(2) on `<database>-writer` before its first write of a
transaction and lets it go when the transaction ends, on the connection's own thread; a waiter
retries within a millisecond, so SQLite's own lock is free by the time it is asked for.

Every connection of every deskhand process to the file goes through this; anything else (the
sqlite3 shell, a backup) still meets SQLite's own lock and busy handler, as before. The wait is
bounded by the same busy timeout SQLite is given, and ends in the same "database is locked"
error. The kernel drops a flock when its file is closed or its process dies, so a crash leaves
nothing held.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import itertools
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator

log = logging.getLogger("deskhand.db")
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_READS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "VALUES", "SAVEPOINT", "RELEASE", "ROLLBACK"})
_BACKOFF = (0.0001, 0.0002, 0.0005)  # then every POLL seconds
POLL = 0.001


@functools.lru_cache(maxsize=2048)
def writes(operation: str) -> bool:
    """Whether a statement may write. A read taken for a write costs only a lock turn, so when
    unsure, it writes."""
    words = operation.lstrip(" \t\r\n(").split(None, 1)
    first = words[0].upper() if words else ""
    if first == "WITH":  # a CTE in front of UPDATE ... RETURNING (the inbox claim)
        return _DML.search(operation) is not None
    return first not in _READS


def lock_path(database: object, uri: bool = False) -> str | None:
    """The lock file of a database file as sqlite3.connect was given it; None for memory."""
    name = os.fsdecode(database) if isinstance(database, str | bytes | os.PathLike) else ""
    if uri:
        if not name.startswith("file:") or "mode=memory" in name:
            return None
        name = name[len("file:"):].split("?", 1)[0]
    if not name or name == ":memory:":
        return None
    return f"{name}-writer"


class WriteLock:
    """One connection's turn at writing; only ever used on that connection's thread."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path: str | None = path  # None once the lock file cannot be used
        self.timeout = timeout
        self.held = False
        self._fd = -1

    def needed(self, conn: sqlite3.Connection, operation: str) -> bool:
        """Whether `operation` is a transaction's first write, so the turn must be taken."""
        return (not self.held and self.path is not None and not conn.in_transaction
                and writes(operation) and self._opened())

    def before(self, conn: sqlite3.Connection, operation: str) -> None:
        """Take the turn before a transaction's first write, waiting on this thread."""
        if self.needed(conn, operation):
            for pause in self._tries():
                time.sleep(pause)

    async def take(self) -> None:
        """Take the turn, waiting on the event loop (a connection run on the loop's thread)."""
        for pause in self._tries():
            await asyncio.sleep(pause)

    def after(self, conn: sqlite3.Connection) -> None:
        """Give the turn back once the connection's transaction is over (committed, rolled back,
        or the statement ran in autocommit)."""
        if self.held and not conn.in_transaction:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.held = False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # drops the flock with it
            self._fd, self.held = -1, False

    def _opened(self) -> bool:
        if self._fd < 0 and self.path is not None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:  # e.g. a read-only folder: SQLite's own lock still holds
                log.warning("cannot use %s (%s); writers wait in SQLite's busy handler",
                            self.path, exc.strerror)
                self.path = None
        return self._fd >= 0

    def _tries(self) -> Iterator[float]:
        """Tries for the turn until one gets it, yielding how long to wait before the next;
        past the timeout, SQLite's own answer to a writer that waited too long."""
        deadline = time.monotonic() + self.timeout
        for attempt in itertools.count():
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                yield _BACKOFF[attempt] if attempt < len(_BACKOFF) else POLL
            else:
                self.held = True
                return
