"""Identity-provider certificates: the key pairs deskhand signs its client assertions with.

One certificate per tenant is `active` (used for every token request); a newer one is
`available` until an admin uploaded it to the IdP and activated it; the one it replaced is
`retired`. Private keys are sealed with DESKHAND_SECRET_KEY (bot/secrets.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


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
