"""What a command reads before its handler runs, cached per process and dropped the moment any
process changes it.

Which tenant a workspace belongs to, who a chat account is, what they may do and the tenant's
settings are read by every command and change rarely. Each command first reads the access
version (storage/cache_versions.py: one row, which database triggers move in every transaction
that changes those tables, whoever writes them); when it moved, everything cached is dropped.
So a role revoked by another process, the CLI or SCIM is refused on the very next command,
while an unchanged directory costs one small read per command.

A value is kept only when the version the command read is still the current one: a command that
read an older version (a concurrent command saw the counter move meanwhile) never stores what it
loaded, which may predate the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.cache_versions import current
from storage.db import Database

V = TypeVar("V")
MAX_ENTRIES = 20_000  # per kind; past it the kind starts again empty
_ids = itertools.count()


class AccessCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.version: int | None = None  # None: nothing may be kept
        self._maps: dict[str, dict[Hashable, Any]] = {}
        self._tickets = itertools.count(1)
        self._applied = 0  # the ticket of the newest read applied
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        # The version the request being handled read at its start (set by bot/dispatch.py).
        self._seen: ContextVar[tuple[int | None] | None] = ContextVar(
            f"access_seen_{next(_ids)}", default=None)

    async def refresh(self) -> int | None:
        """Read the version; drop everything when it moved. Reads that finish out of order are
        applied in the order they started, so an older answer never replaces a newer one."""
        ticket = next(self._tickets)
        found = await self._read()
        if ticket > self._applied:
            self._applied = ticket
            if found is None or found != self.version:
                self._maps.clear()
                self.version = found
        return found

    async def _read(self) -> int | None:
        """One statement on a connection kept for it (no pool checkout, no BEGIN or ROLLBACK:
        it autocommits, so it holds no transaction open between reads); one at a time. A failed
        connection (the database restarted) is replaced once."""
        async with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        conn = await self.db.engine.connect()
                        self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    return await current(self._conn)
                except Exception:
                    await self._close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        """Give the kept connection back (the runtime stops)."""
        async with self._lock:
            await self._close()

    async def begin(self) -> Token[tuple[int | None] | None]:
        """A request starts: what it reads from here on is as of the version read now."""
        return self._seen.set((await self.refresh(),))

    def end(self, token: Token[tuple[int | None] | None]) -> None:
        self._seen.reset(token)

    async def lookup(self, kind: str, key: Hashable, load: Callable[[], Awaitable[V]],
                     keep: Callable[[V], bool] = lambda _: True) -> V:
        """The cached value, else `load()`'s, kept when `keep` says so and still current."""
        request = self._seen.get()
        # outside a request (a job, a test): read the version now
        seen = request[0] if request is not None else await self.refresh()
        values = self._maps.get(kind)
        if seen is not None and seen == self.version and values is not None and key in values:
            return values[key]
        value = await load()
        if seen is not None and seen == self.version and keep(value):
            values = self._maps.setdefault(kind, {})
            if len(values) >= MAX_ENTRIES:
                values.clear()
            values[key] = value
        return value

    def holds(self, kind: str, key: Hashable) -> bool:
        """Whether a value of `kind` is kept for `key` (what the tests look at)."""
        return key in self._maps.get(kind, {})
