"""Worker heartbeats: one row per live worker process, its last beat refreshed every few seconds.

A listener whose workers run its requests is ready only while some worker has beaten recently
(bot/heartbeat.py). The inbox is shared through the database, so any worker counts: a child of
this listener, of another replica, or a standalone `deskhand worker`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, String, Table, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, upsert
from storage.db import autocommit, lazy, unpinged


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    replica: Mapped[str] = mapped_column(String(200))  # DESKHAND_REPLICA_ID, or host:pid
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)


TABLE = cast(Table, WorkerHeartbeat.__table__)
T = TABLE.c


class HeartbeatStore:
    """Short statements, each its own transaction (like the inbox's); the beat's built once and
    runs alone (on PostgreSQL in autocommit: no BEGIN and COMMIT round trips every few seconds)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._single = lazy(autocommit(engine))  # a beat lost in the machine's crash is moot
        values: dict[str, Any] = {name: bindparam(name) for name in ("worker", "replica", "pid", "started_at",
                                                      "beat_at")}
        insert = upsert(TABLE, postgres=engine.dialect.name == "postgresql")
        self._beat = insert.values(values).on_conflict_do_update(
            index_elements=["worker"], set_={k: v for k, v in values.items() if k != "worker"})

    async def beat(self, worker: str, replica: str, pid: int, started: datetime,
                   at: datetime) -> None:
        # At rest every beat finds its connection idle since the last one: the beat is its own
        # probe (storage/db.py, unpinged()), not a ping and then the write, two round trips.
        with unpinged():
            async with self._single.begin() as conn:
                await conn.execute(self._beat, {"worker": worker, "replica": replica, "pid": pid,
                                                "started_at": started, "beat_at": at})

    async def newest(self) -> datetime | None:
        """When the most recent beat of any worker was."""
        async with self.engine.connect() as conn:
            return cast(datetime | None, await conn.scalar(select(func.max(T.beat_at))))

    async def forget(self, worker: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(TABLE).where(T.worker == worker))

    async def forget_before(self, cutoff: datetime) -> None:
        """Drop the rows of workers that stopped beating long ago (killed, their host gone)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(TABLE).where(T.beat_at < cutoff))
