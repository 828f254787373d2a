"""The inbox table and the request keys, through SQLAlchemy Core: short statements, each its
own transaction.

Claims are one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so two
workers (processes or replicas) never take the same row; SQLite's single writer gives the same
guarantee without the locking clause, which its dialect leaves out.

A request key (a hash of the platform's own request identity: Slack's signature, an event id, a
Teams activity id) is inserted with `ON CONFLICT DO NOTHING` in the same transaction as the
request: a replay, to this process after a restart or to another replica, finds its key taken
and is not stored. Keys expire with the platform's replay window and are swept.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Index, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow


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


class InboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

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
                await conn.execute(insert(TABLE), rows)
        return stored

    async def claim_key(self, key: str, expires: datetime) -> bool:
        """Take a request key without storing a request (work run in the platform's turn)."""
        async with self.engine.begin() as conn:
            return key in await self._take_keys(conn, [NewItem("", "", "", expires, key, expires)])

    @staticmethod
    async def _take_keys(conn: AsyncConnection, items: list[NewItem]) -> set[str]:
        keys = {i.key: i.key_expires or utcnow() for i in items if i.key is not None}
        if not keys:
            return set()
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = (dialect.insert(KEYS).values([{"key": k, "expires_at": e} for k, e in keys.items()])
                .on_conflict_do_nothing(index_elements=["key"]).returning(KEYS.c.key))
        return set((await conn.execute(stmt)).scalars().all())

    async def forget_keys(self) -> int:
        """Drop the keys whose replay window has passed; how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(KEYS).where(KEYS.c.expires_at < utcnow()))
        return int(result.rowcount or 0)

    async def claim(self, holder: str, limit: int, lease: timedelta,
                    platforms: Collection[str]) -> list[Item]:
        """The oldest `limit` unclaimed items of `platforms`, now leased to `holder`."""
        oldest = (select(T.id).where(T.claimed_by.is_(None), T.platform.in_(platforms))
                  .order_by(T.id).limit(limit).with_for_update(skip_locked=True).scalar_subquery())
        stmt = (update(TABLE)
                .where(T.id.in_(oldest), T.claimed_by.is_(None))
                .values(claimed_by=holder, lease_until=utcnow() + lease)
                .returning(*_COLUMNS))
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((Item(*row) for row in rows), key=lambda i: i.id)

    async def renew(self, holder: str, ids: Collection[int], lease: timedelta) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(TABLE).where(T.id.in_(ids), T.claimed_by == holder)
                               .values(lease_until=utcnow() + lease))

    async def finish(self, holder: str, ids: Collection[int]) -> None:
        """Delete `holder`'s items; one a sweep has taken from it meanwhile is left alone."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(TABLE).where(T.id.in_(ids), T.claimed_by == holder))

    async def take_lapsed(self, platforms: Collection[str]) -> list[Item]:
        """Remove and return the items of `platforms` whose worker stopped renewing its lease."""
        stmt = (delete(TABLE)
                .where(T.claimed_by.is_not(None), T.lease_until < utcnow(),
                       T.platform.in_(platforms))
                .returning(*_COLUMNS))
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((Item(*row) for row in rows), key=lambda i: i.id)

    async def counts(self) -> tuple[int, int]:
        """(queued, running) items."""
        queued, running, _ = await self.stats()
        return queued, running

    async def stats(self) -> tuple[int, int, datetime | None]:
        """(queued, running, when the oldest queued item arrived)."""
        stmt = select(func.count().filter(T.claimed_by.is_(None)),
                      func.count().filter(T.claimed_by.is_not(None)),
                      func.min(T.received_at).filter(T.claimed_by.is_(None)))
        async with self.engine.connect() as conn:
            queued, running, oldest = (await conn.execute(stmt)).one()
        return int(queued), int(running), oldest
