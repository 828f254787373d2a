"""Identity-provider certificates: the key pairs deskhand signs its client assertions with.

One certificate per tenant is `active` (used for every token request); a newer one is
`available` until an admin uploaded it to the IdP and activated it; the one it replaced is
`retired`. Private keys are sealed with the secret key ring (bot/secrets.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow

AVAILABLE, ACTIVE, RETIRED = "available", "active", "retired"


class IdpCertificate(Base):
    """available -> active -> retired."""

    __tablename__ = "idp_certificates"
    __table_args__ = (UniqueConstraint("tenant_id", "thumbprint"),
                      Index("ix_idp_certificates_due", "state", "not_after"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    thumbprint: Mapped[str] = mapped_column(String(64))  # SHA-1 hex, as Entra and Okta show it
    subject: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str] = mapped_column(Text)  # sealed PEM
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    activated_by: Mapped[str | None] = mapped_column(String(320), default=None)


class CertificateRepo(Repo):
    async def add(self, row: IdpCertificate) -> IdpCertificate:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, row_id: int) -> IdpCertificate | None:
        row = await self.s.get(IdpCertificate, row_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def by_thumbprint(self, tenant_id: int, thumbprint: str) -> IdpCertificate | None:
        q = select(IdpCertificate).where(IdpCertificate.tenant_id == tenant_id,
                                         IdpCertificate.thumbprint == thumbprint)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def current(self, tenant_id: int) -> Sequence[IdpCertificate]:
        """The active certificate and the available ones, the active first, then newest first."""
        q = (select(IdpCertificate)
             .where(IdpCertificate.tenant_id == tenant_id,
                    IdpCertificate.state.in_((ACTIVE, AVAILABLE)))
             .order_by(IdpCertificate.state, IdpCertificate.not_after.desc()))
        return (await self.s.execute(q.execution_options(populate_existing=True))).scalars().all()

    async def active(self, tenant_id: int) -> IdpCertificate | None:
        rows = [r for r in await self.current(tenant_id) if r.state == ACTIVE]
        return rows[0] if rows else None
