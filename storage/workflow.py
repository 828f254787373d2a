"""What every workflow shares: approval requests and the posted copies of its cards.

Both refer to their subject by kind and id (`instruction.run` 42, later `device.action` 7), not
by a foreign key to one capability's table, so any workflow gets the same approvals and card
updates. The capability that owns a subject deletes these rows with it (`delete_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow

PENDING = "pending"


class ApprovalRequest(Base):
    """pending -> approved | denied | expired | cancelled, decided by compare-and-set."""

    __tablename__ = "approval_requests"
    # AUTOINCREMENT on SQLite: an old card's Approve button must never name a newer request.
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_approval_requests_subject"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300), default="")  # what is asked, for lists
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
    __table_args__ = (Index("ix_workflow_cards_subject", "subject_kind", "subject_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(16))  # approvers | requester
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(200))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def still_open() -> ColumnElement[bool]:
    """A request that may still be decided: its time has not run out."""
    return ApprovalRequest.expires_at > utcnow()


def past_due() -> ColumnElement[bool]:
    return ApprovalRequest.expires_at <= utcnow()


class ApprovalRepo(Repo):
    async def add(self, row: ApprovalRequest) -> ApprovalRequest:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, request_id: int) -> ApprovalRequest | None:
        row = await self.s.get(ApprovalRequest, request_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def for_subject(self, kind: str, subject_id: int) -> ApprovalRequest | None:
        q = select(ApprovalRequest).where(
            ApprovalRequest.subject_kind == kind, ApprovalRequest.subject_id == subject_id
        ).execution_options(populate_existing=True)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def for_subjects(self, kind: str, ids: Sequence[int]) -> dict[int, ApprovalRequest]:
        if not ids:
            return {}
        q = select(ApprovalRequest).where(ApprovalRequest.subject_kind == kind,
                                          ApprovalRequest.subject_id.in_(list(ids)))
        return {r.subject_id: r for r in (await self.s.execute(q)).scalars().all()}

    async def overdue(self, limit: int = 100) -> Sequence[ApprovalRequest]:
        q = (select(ApprovalRequest).where(ApprovalRequest.state == PENDING,
                                           ApprovalRequest.expires_at <= utcnow())
             .order_by(ApprovalRequest.expires_at).limit(limit))
        return (await self.s.execute(q)).scalars().all()

    async def next_expiry(self) -> datetime | None:
        """When the first pending request of any tenant expires (None: none is pending)."""
        q = select(func.min(ApprovalRequest.expires_at)).where(ApprovalRequest.state == PENDING)
        return cast(datetime | None, (await self.s.execute(q)).scalar())

    async def pending(self, tenant_id: int, limit: int = 50) -> Sequence[ApprovalRequest]:
        """Waiting for a decision and not expired yet, oldest first."""
        q = (select(ApprovalRequest).where(ApprovalRequest.tenant_id == tenant_id,
                                           ApprovalRequest.state == PENDING,
                                           ApprovalRequest.expires_at > utcnow())
             .order_by(ApprovalRequest.id).limit(limit))
        return (await self.s.execute(q)).scalars().all()

    async def pending_by(self, tenant_id: int, requester_id: int) -> Sequence[ApprovalRequest]:
        """Everything a person asked for that still waits (expired or not), oldest first."""
        q = (select(ApprovalRequest).where(ApprovalRequest.tenant_id == tenant_id,
                                           ApprovalRequest.requester_id == requester_id,
                                           ApprovalRequest.state == PENDING)
             .order_by(ApprovalRequest.id))
        return (await self.s.execute(q)).scalars().all()

    async def delete_for(self, kind: str, ids: Sequence[int]) -> None:
        await self.s.execute(delete(ApprovalRequest).where(
            ApprovalRequest.subject_kind == kind, ApprovalRequest.subject_id.in_(list(ids))))


class WorkflowCardRepo(Repo):
    async def add(self, tenant_id: int, kind: str, subject_id: int, audience: str, platform: str,
                  channel: str, message_id: str, extra: dict[str, Any]) -> None:
        self.s.add(WorkflowCard(tenant_id=tenant_id, subject_kind=kind, subject_id=subject_id,
                                audience=audience, platform=platform, channel=channel,
                                message_id=message_id, extra=extra))
        await self.s.flush()

    async def for_subject(self, kind: str, subject_id: int) -> Sequence[WorkflowCard]:
        q = select(WorkflowCard).where(WorkflowCard.subject_kind == kind,
                                       WorkflowCard.subject_id == subject_id).order_by(WorkflowCard.id)
        return (await self.s.execute(q)).scalars().all()

    async def delete_for(self, kind: str, ids: Sequence[int]) -> None:
        await self.s.execute(delete(WorkflowCard).where(
            WorkflowCard.subject_kind == kind, WorkflowCard.subject_id.in_(list(ids))))
