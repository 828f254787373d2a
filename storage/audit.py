"""The audit trail: append-only events, appended one per command and queried newest first, and the
archivals that alone may prune its old rows (`deskhand audit archive`, docs/audit.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, Repo, utcnow


class AuditEvent(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    correlation_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # command, interaction, denial, decision, external
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(32))
    actor_email: Mapped[str | None] = mapped_column(String(320), index=True, default=None)
    actor_principal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    platform_identity: Mapped[str | None] = mapped_column(String(400), default=None)
    target: Mapped[str | None] = mapped_column(String(300), index=True, default=None)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[str] = mapped_column(Text, default="")


class AuditArchival(Base):
    """One pruning of the trail: which rows went (older than `cutoff`, ids up to `last_id`, of
    `tenant_id` or of every tenant when NULL), how many, and the file they went to.

    Append-only too. The DELETE trigger on audit_events lets a row go only when the archival
    recorded last in the same transaction covers it (migration 0027): on PostgreSQL `xact` is
    that transaction's id, set by a trigger; on SQLite it stays NULL and the trigger compares the
    connection's last inserted row id with this row's.
    """

    __tablename__ = "audit_archivals"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), default=None)
    cutoff: Mapped[datetime]
    last_id: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    file_format: Mapped[str] = mapped_column(String(8))
    archived_by: Mapped[str] = mapped_column(String(320))
    xact: Mapped[int | None] = mapped_column(BigInteger, default=None)


def _covered(cutoff: datetime, last_id: int, tenant_id: int | None) -> ColumnElement[bool]:
    """The rows one archival takes: the same test as the DELETE trigger's."""
    found = and_(AuditEvent.at < cutoff, AuditEvent.id <= last_id)
    return found if tenant_id is None else and_(found, AuditEvent.tenant_id == tenant_id)


EVENTS = cast(Table, AuditEvent.__table__)
# Built once: every command writes a row, and a statement made per call cost more than the write.
# Rows carry every column (event_row), so one statement serves a single row and a batch alike.
INSERT_EVENTS = insert(EVENTS)
_FIELDS = tuple(c.key for c in EVENTS.columns if c.key != "id")


def event_row(values: dict[str, Any]) -> dict[str, Any]:
    """An audit row with every column but the id: absent ones get the table's defaults."""
    row = {key: values.get(key) for key in _FIELDS}
    row["at"] = row["at"] or utcnow()
    row["params"] = row["params"] or {}
    row["detail"] = row["detail"] or ""
    return row


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Append rows made by `event_row` in the caller's transaction."""
    if rows:
        await conn.execute(INSERT_EVENTS, rows)


class AuditRepo(Repo):
    async def append(self, event: AuditEvent | dict[str, Any]) -> None:
        # A Core insert: the ORM's flush bookkeeping cost more than the write (one per command).
        values = event if isinstance(event, dict) else {k: getattr(event, k) for k in _FIELDS}
        await self.s.execute(INSERT_EVENTS, [event_row(values)])

    async def query(
        self, tenant_id: int, *, actor_email: str | None = None, target: str | None = None,
        since: datetime | None = None, before_id: int | None = None, limit: int = 50,
    ) -> Sequence[AuditEvent]:
        """Newest first, keyset on id."""
        q = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        if actor_email:
            q = q.where(AuditEvent.actor_email == actor_email.lower())
        if target:
            q = q.where(func.lower(AuditEvent.target) == target.lower())
        if since:
            q = q.where(AuditEvent.at >= since)
        if before_id:
            q = q.where(AuditEvent.id < before_id)
        return (await self.s.execute(q.order_by(AuditEvent.id.desc()).limit(limit))).scalars().all()

    async def newest_id(self) -> int:
        return int((await self.s.execute(select(func.max(AuditEvent.id)))).scalar() or 0)

    async def archivable(self, cutoff: datetime, last_id: int, tenant_id: int | None, *,
                         after_id: int = 0, limit: int = 2000) -> Sequence[AuditEvent]:
        """The next rows an archival takes, oldest id first, from `after_id` on (keyset)."""
        q = select(AuditEvent).where(_covered(cutoff, last_id, tenant_id), AuditEvent.id > after_id)
        return (await self.s.execute(q.order_by(AuditEvent.id).limit(limit))).scalars().all()

    async def prune(self, archival: AuditArchival) -> int:
        """Record `archival`, then delete the rows it covers, in this transaction; how many went.

        Nothing may be inserted between the two (on SQLite the trigger knows the archival as the
        connection's last insert), so the caller writes its own audit rows before."""
        self.s.add(archival)
        await self.s.flush()
        result = await self.s.execute(
            delete(AuditEvent).where(_covered(archival.cutoff, archival.last_id, archival.tenant_id))
            .execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]
