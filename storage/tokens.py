"""Data-access tokens: bearer tokens for the read-only Delta Sharing endpoint, per tenant.

Only a SHA-256 of each secret is stored. A token is `pending` until its creator opens the
one-time download of its profile file, then `active` until it is revoked or expires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


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
