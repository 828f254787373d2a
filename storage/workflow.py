"""A run's workflow: its approval request and every copy of its card deskhand posted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class ApprovalRequest(Base):
    """pending -> approved | denied | expired | cancelled, decided by compare-and-set."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("instruction_runs.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), default=None)
    decided_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
    decided_via: Mapped[str | None] = mapped_column(String(400), default=None)  # chat account
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowCard(Base):
    """Every copy of a workflow card deskhand posted, so each can be updated when state moves."""

    __tablename__ = "workflow_cards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("instruction_runs.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(16))  # approvers | requester
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(200))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRepo(Repo):
    async def add(self, row: ApprovalRequest) -> ApprovalRequest:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, request_id: int) -> ApprovalRequest | None:
        row = await self.s.get(ApprovalRequest, request_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def for_run(self, run_id: int) -> ApprovalRequest | None:
        q = select(ApprovalRequest).where(ApprovalRequest.run_id == run_id).execution_options(
            populate_existing=True)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def for_runs(self, run_ids: Sequence[int]) -> dict[int, ApprovalRequest]:
        if not run_ids:
            return {}
        q = select(ApprovalRequest).where(ApprovalRequest.run_id.in_(list(run_ids)))
        return {r.run_id: r for r in (await self.s.execute(q)).scalars().all()}

    async def decide(self, request_id: int, state: str, **values: Any) -> bool:
        """pending -> `state`, only while pending and not yet expired: one winner per request."""
        result = await self.s.execute(update(ApprovalRequest).where(
            ApprovalRequest.id == request_id, ApprovalRequest.state == "pending",
            ApprovalRequest.expires_at > utcnow()).values(state=state, decided_at=utcnow(), **values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def expire(self, request_id: int) -> bool:
        result = await self.s.execute(update(ApprovalRequest).where(
            ApprovalRequest.id == request_id, ApprovalRequest.state == "pending",
            ApprovalRequest.expires_at <= utcnow()).values(state="expired", decided_at=utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def overdue(self, limit: int = 100) -> Sequence[ApprovalRequest]:
        q = (select(ApprovalRequest).where(ApprovalRequest.state == "pending",
                                           ApprovalRequest.expires_at <= utcnow())
             .order_by(ApprovalRequest.expires_at).limit(limit))
        return (await self.s.execute(q)).scalars().all()


class WorkflowCardRepo(Repo):
    async def add(self, tenant_id: int, run_id: int, audience: str, platform: str, channel: str,
                  message_id: str, extra: dict[str, Any]) -> None:
        self.s.add(WorkflowCard(tenant_id=tenant_id, run_id=run_id, audience=audience,
                                platform=platform, channel=channel, message_id=message_id,
                                extra=extra))
        await self.s.flush()

    async def for_run(self, run_id: int) -> Sequence[WorkflowCard]:
        q = select(WorkflowCard).where(WorkflowCard.run_id == run_id).order_by(WorkflowCard.id)
        return (await self.s.execute(q)).scalars().all()
