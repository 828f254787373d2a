"""Data-access tokens: bearer tokens for the read-only Delta Sharing endpoint, per tenant.

Only a SHA-256 of each secret is stored. A token is `pending` until its creator opens the
one-time download of its profile file, then `active` until it is revoked or expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class DataAccessToken(Base):
    """pending -> active -> revoked | expired (pending may be revoked or expire too)."""

    __tablename__ = "data_access_tokens"
    __table_args__ = (Index("ix_data_access_tokens_due", "state", "expires_at"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(320))  # a name or the email of whom it is for
    description: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    lifetime: Mapped[str] = mapped_column(String(4))  # 1m | 3m | 6m | 1y
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), index=True, default=None)
    created_by_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # bot/places.py
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(320), default=None)


class DataAccessTokenRepo(Repo):
    """The tokens of a tenant; state changes go through the workflow (handlers/tokens/states.py)."""

    async def add(self, row: DataAccessToken) -> DataAccessToken:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, token_id: int) -> DataAccessToken | None:
        row = await self.s.get(DataAccessToken, token_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def by_secret(self, secret_hash: str) -> DataAccessToken | None:
        """The token a bearer secret belongs to, in whichever tenant (the unique hash decides)."""
        q = select(DataAccessToken).where(DataAccessToken.secret_hash == secret_hash)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def page(self, tenant_id: int, *, search: str | None, states: Sequence[str],
                   before_id: int | None, limit: int) -> Sequence[DataAccessToken]:
        """Newest first, keyset on id; `search` matches the name, description or creator."""
        q = select(DataAccessToken).where(DataAccessToken.tenant_id == tenant_id)
        if search:
            like = f"%{search.lower().replace('%', '').replace('_', '')}%"
            q = q.where(or_(func.lower(DataAccessToken.name).like(like),
                            func.lower(DataAccessToken.description).like(like),
                            func.lower(DataAccessToken.created_by_email).like(like)))
        if states:
            q = q.where(DataAccessToken.state.in_(list(states)))
        if before_id:
            q = q.where(DataAccessToken.id < before_id)
        return (await self.s.execute(q.order_by(DataAccessToken.id.desc()).limit(limit))).scalars().all()

    async def past_expiry(self, states: Sequence[str], at: datetime,
                          limit: int = 500) -> Sequence[tuple[int, int]]:
        """(tenant, id) of tokens in `states` whose time is up (the (state, expires_at) index)."""
        q = (select(DataAccessToken.tenant_id, DataAccessToken.id)
             .where(DataAccessToken.state.in_(list(states)), DataAccessToken.expires_at <= at)
             .order_by(DataAccessToken.expires_at).limit(limit))
        return [(t, i) for t, i in (await self.s.execute(q)).all()]

    async def ids_created_by(self, tenant_id: int, principal_id: int,
                             states: Sequence[str]) -> list[int]:
        q = select(DataAccessToken.id).where(DataAccessToken.tenant_id == tenant_id,
                                             DataAccessToken.created_by_id == principal_id,
                                             DataAccessToken.state.in_(list(states)))
        return list((await self.s.execute(q)).scalars().all())

    async def tenants_with(self, states: Sequence[str]) -> list[int]:
        q = select(DataAccessToken.tenant_id).where(
            DataAccessToken.state.in_(list(states))).distinct()
        return list((await self.s.execute(q)).scalars().all())

    async def count(self, tenant_id: int) -> int:
        q = select(func.count()).select_from(DataAccessToken).where(
            DataAccessToken.tenant_id == tenant_id)
        return int((await self.s.execute(q)).scalar_one())

    async def delete_all(self, tenant_id: int) -> int:
        result = await self.s.execute(delete(DataAccessToken).where(
            DataAccessToken.tenant_id == tenant_id))
        return int(result.rowcount)  # type: ignore[attr-defined]
