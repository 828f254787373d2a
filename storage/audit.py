"""The audit trail: append-only events, appended one per command and queried newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Integer, String, Table, Text, func, insert, select
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


class AuditRepo(Repo):
    async def append(self, event: AuditEvent) -> None:
        # A Core insert: the ORM's flush bookkeeping cost more than the write (one per command).
        table = cast(Table, AuditEvent.__table__)
        await self.s.execute(insert(table).values({
            c.key: value for c in table.columns if (value := getattr(event, c.key)) is not None}))

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
