"""Console sign-in: single-use links and the browser sessions they open.

Only a SHA-256 of each token is stored: a copy of the database opens no console. A link is
used once (`used_at` is set by a compare-and-set, so two tabs or two replicas racing on one
link open one session); a session ends when it expires or is revoked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow

Kind = Literal["link", "session"]


class ConsoleToken(Base):
    __tablename__ = "console_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)  # links: when redeemed
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ConsoleTokenRepo(Repo):
    async def add(self, tenant_id: int, principal_id: int, kind: Kind, token_hash: str,
                  expires_at: datetime) -> ConsoleToken:
        row = ConsoleToken(tenant_id=tenant_id, principal_id=principal_id, kind=kind,
                           token_hash=token_hash, expires_at=expires_at)
        self.s.add(row)
        await self.s.flush()
        return row

    async def find(self, kind: Kind, token_hash: str) -> ConsoleToken | None:
        """A link or session by its token's hash, whichever tenant it belongs to (hashes are
        unique: a 256-bit token names one row)."""
        return (await self.s.execute(select(ConsoleToken).where(
            ConsoleToken.kind == kind, ConsoleToken.token_hash == token_hash))).scalar_one_or_none()

    async def use(self, row_id: int, now: datetime) -> bool:
        """Mark a link used, once: False when it was used, revoked or expired meanwhile."""
        result = await self.s.execute(update(ConsoleToken).where(
            ConsoleToken.id == row_id, ConsoleToken.kind == "link",
            ConsoleToken.used_at.is_(None), ConsoleToken.revoked_at.is_(None),
            ConsoleToken.expires_at > now).values(used_at=now))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke(self, tenant_id: int, now: datetime, *, principal_id: int | None = None,
                     row_id: int | None = None) -> int:
        """End a person's sessions and unused links (or one row); how many were live."""
        live = [ConsoleToken.tenant_id == tenant_id, ConsoleToken.revoked_at.is_(None),
                ConsoleToken.used_at.is_(None), ConsoleToken.expires_at > now]
        if principal_id is not None:
            live.append(ConsoleToken.principal_id == principal_id)
        if row_id is not None:
            live.append(ConsoleToken.id == row_id)
        result = await self.s.execute(update(ConsoleToken).where(*live).values(revoked_at=now))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def sweep(self, before: datetime) -> int:
        result = await self.s.execute(delete(ConsoleToken).where(ConsoleToken.expires_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]
