"""The inbox table and the request keys, through SQLAlchemy Core: short statements, each its
own transaction, built once (a statement made per call cost more CPU than its round trip).

Claims are one `WITH oldest AS MATERIALIZED (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)
UPDATE ... WHERE id IN (SELECT id FROM oldest) RETURNING`, so two
workers (processes or replicas) never take the same row; SQLite's single writer gives the same
guarantee without the locking clause, which its dialect leaves out.

A request key (a hash of the platform's own request identity: Slack's signature, an event id, a
Teams activity id) is inserted with `ON CONFLICT DO NOTHING` in the same transaction as the
request: a replay, to this process after a restart or to another replica, finds its key taken
and is not stored. Keys expire with the platform's replay window and are swept.

On PostgreSQL a write also sends `NOTIFY deskhand_inbox` (delivered at its commit), which wakes
the standalone `deskhand worker` processes that `listen`. A request's finish deletes its row and
appends its audit events in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Index,
    String,
    Table,
    Text,
    Update,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, ValueList, in_list, upsert, utcnow
from storage.db import autocommit, commit_with_next, lazy

CHANNEL = "deskhand_inbox"  # PostgreSQL's NOTIFY channel of new requests


class InboxItem(Base):
    """A chat request already acknowledged to its platform whose work has not finished.

    Written before the ack and deleted when the work ends (bot/inbox.py), so the table holds only
    what is queued or running. `claimed_by`/`lease_until` mark the worker running it; a lease
    that lapses means that worker died mid-way.
    """

    __tablename__ = "inbox"
    # AUTOINCREMENT on SQLite: the table is usually empty, and a reused id could let a late
    # finish delete somebody else's request.
    __table_args__ = (Index("ix_inbox_claim", "claimed_by", "id"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)  # JSON as the adapter wrote it, sealed (SecretBox)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class RequestKey(Base):
    """A request already taken in, kept until the platform would refuse its replay anyway."""

    __tablename__ = "request_keys"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the identity
    expires_at: Mapped[datetime] = mapped_column(index=True)


TABLE = cast(Table, InboxItem.__table__)
T = TABLE.c
KEYS = cast(Table, RequestKey.__table__)


@dataclass(frozen=True)
class Item:
    id: int
    platform: str
    kind: str
    payload: str
    received_at: datetime


@dataclass(frozen=True)
class NewItem:
    platform: str
    kind: str
    payload: str
    received_at: datetime
    key: str | None = None  # the request's replay key, if it has one
    key_expires: datetime | None = None


_COLUMNS = (T.id, T.platform, T.kind, T.payload, T.received_at)
_INSERT = insert(TABLE)
_NOTIFY = text(f"NOTIFY {CHANNEL}")
_FORGET_KEYS = delete(KEYS).where(KEYS.c.expires_at < bindparam("now"))
_STATS = select(func.count().filter(T.claimed_by.is_(None)),
                func.count().filter(T.claimed_by.is_not(None)),
                func.min(T.received_at).filter(T.claimed_by.is_(None)))


class InboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._single = autocommit(engine)  # claims, renewals and finishes are one statement
        # Renewals and finishes need not survive the machine's crash (storage/db.py, lazy()): a
        # lost finish tells its sender the request may not have finished. A claim must, or its
        # request could run again after a reboot.
        self._lazy = lazy(self._single)
        self._take = (upsert(KEYS, postgres=self.postgres).on_conflict_do_nothing(index_elements=["key"])
                      .returning(KEYS.c.key))
        # The ids as one parameter: an expanding IN would render the statement anew every time.
        mine = (in_list(T.id, bindparam("ids", type_=ValueList(integers=True)),
                        postgres=self.postgres), T.claimed_by == bindparam("holder"))
        self._renew = update(TABLE).where(*mine).values(lease_until=bindparam("until"))
        self._finish = delete(TABLE).where(*mine)
        self._by_platforms: dict[tuple[str, ...], tuple[Update, Any, Any]] = {}

    def _statements(self, platforms: Collection[str]) -> tuple[Update, Any, Any]:
        """The claim, the lapsed-lease take and the next lapse of one set of platforms, made on
        first use: a consumer always asks for the same platforms."""
        key = tuple(sorted(platforms))
        if key not in self._by_platforms:
            mine = T.platform.in_([literal(p) for p in key])  # fixed: no expanding IN
            # MATERIALIZED: evaluated once. As a plain subquery PostgreSQL may rescan it per row
            # it updates, each rescan skipping the rows already taken: a claim of 2 took all 5.
            oldest = (select(T.id).where(T.claimed_by.is_(None), mine).order_by(T.id)
                      .limit(bindparam("limit")).with_for_update(skip_locked=True)
                      .cte("oldest").prefix_with("MATERIALIZED"))
            claim = (update(TABLE).where(T.id.in_(select(oldest.c.id)), T.claimed_by.is_(None))
                     .values(claimed_by=bindparam("holder"), lease_until=bindparam("until"))
                     .returning(*_COLUMNS))
            lapsed = (delete(TABLE)
                      .where(T.claimed_by.is_not(None), T.lease_until < bindparam("now"), mine)
                      .returning(*_COLUMNS))
            next_lapse = select(func.min(T.lease_until)).where(T.claimed_by.is_not(None), mine)
            self._by_platforms[key] = (claim, lapsed, next_lapse)
        return self._by_platforms[key]

    async def add(self, items: list[NewItem]) -> list[bool]:
        """Store the items whose key is new (or who have none); per item, whether it was stored."""
        async with self.engine.begin() as conn:
            fresh = await self._take_keys(conn, items)
            stored = [i.key is None or i.key in fresh for i in items]
            for index, item in enumerate(items):
                if item.key in fresh:
                    fresh.discard(item.key)  # the same key twice in one batch: the first wins
                elif item.key is not None:
                    stored[index] = False
            rows = [{"platform": i.platform, "kind": i.kind, "payload": i.payload,
                     "received_at": i.received_at} for i, ok in zip(items, stored, strict=True) if ok]
            if rows:
                if not self.postgres:
                    await commit_with_next(conn)  # the last statement: the listener's hops are few
                await conn.execute(_INSERT, rows)
                if self.postgres:
                    await conn.execute(_NOTIFY)
        return stored

    async def claim_key(self, key: str, expires: datetime) -> bool:
        """Take a request key without storing a request (work run in the platform's turn)."""
        async with self.engine.begin() as conn:
            return key in await self._take_keys(conn, [NewItem("", "", "", expires, key, expires)])

    async def _take_keys(self, conn: AsyncConnection, items: list[NewItem]) -> set[str]:
        keys = {i.key: i.key_expires or utcnow() for i in items if i.key is not None}
        if not keys:
            return set()
        rows = [{"key": k, "expires_at": e} for k, e in keys.items()]
        return set((await conn.execute(self._take, rows)).scalars().all())

    async def forget_keys(self) -> int:
        """Drop the keys whose replay window has passed; how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(_FORGET_KEYS, {"now": utcnow()})
        return int(result.rowcount or 0)

    async def claim(self, holder: str, limit: int, lease: timedelta,
                    platforms: Collection[str]) -> list[Item]:
        """The oldest `limit` unclaimed items of `platforms`, now leased to `holder`."""
        claim = self._statements(platforms)[0]
        async with self._single.begin() as conn:
            rows = (await conn.execute(claim, {"limit": limit, "holder": holder,
                                               "until": utcnow() + lease})).all()
        return sorted((Item(*row) for row in rows), key=lambda i: i.id)

    async def renew(self, holder: str, ids: Collection[int], lease: timedelta) -> None:
        async with self._lazy.begin() as conn:
            await conn.execute(self._renew, {"ids": list(ids), "holder": holder,
                                        "until": utcnow() + lease})

    async def finish(self, holder: str, ids: Collection[int]) -> None:
        """Delete `holder`'s items (one a sweep has taken from it meanwhile is left alone)."""
        async with self._lazy.begin() as conn:
            await conn.execute(self._finish, {"ids": list(ids), "holder": holder})

    async def take_lapsed(self, platforms: Collection[str]) -> list[Item]:
        """Remove and return the items of `platforms` whose worker stopped renewing its lease."""
        lapsed = self._statements(platforms)[1]
        async with self.engine.begin() as conn:
            rows = (await conn.execute(lapsed, {"now": utcnow()})).all()
        return sorted((Item(*row) for row in rows), key=lambda i: i.id)

    async def next_lapse(self, platforms: Collection[str]) -> datetime | None:
        """When the first lease of `platforms` now held lapses unless renewed (None: none held)."""
        async with self.engine.connect() as conn:
            return cast(datetime | None, await conn.scalar(self._statements(platforms)[2]))

    async def sweep(self, platforms: Collection[str]) -> tuple[list[Item], datetime | None]:
        """In one transaction: drop the expired request keys, take the lapsed items
        (take_lapsed), and say when the next lease lapses (next_lapse)."""
        _, lapsed, next_lapse = self._statements(platforms)
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(_FORGET_KEYS, {"now": now})
            rows = (await conn.execute(lapsed, {"now": now})).all()
            first = cast(datetime | None, await conn.scalar(next_lapse))
        return sorted((Item(*row) for row in rows), key=lambda i: i.id), first

    async def counts(self) -> tuple[int, int]:
        """(queued, running) items."""
        queued, running, _ = await self.stats()
        return queued, running

    async def stats(self) -> tuple[int, int, datetime | None]:
        """(queued, running, when the oldest queued item arrived)."""
        async with self.engine.connect() as conn:
            queued, running, oldest = (await conn.execute(_STATS)).one()
        return int(queued), int(running), oldest

    async def listen(self, wake: Callable[[], None]) -> None:
        """PostgreSQL: call `wake` on every NOTIFY of a write until the connection is lost (it
        then returns). Holds one connection of the pool meanwhile."""
        lost = asyncio.Event()
        async with self.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None

            def heard(*_: object) -> None:
                wake()

            def closed(_: object) -> None:
                lost.set()

            raw.add_termination_listener(closed)
            await raw.add_listener(CHANNEL, heard)
            try:
                await lost.wait()
            finally:  # the connection goes back to the pool without them
                raw.remove_termination_listener(closed)
                with contextlib.suppress(Exception):
                    await raw.remove_listener(CHANNEL, heard)
