"""Remote support through TeamViewer: the sessions deskhand started, the tenant's sealed OAuth
tokens and the one-time states of pending connects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class RemoteSession(Base):
    """A TeamViewer session deskhand asked for: pending -> open | failed; open -> closing -> closed.

    Only a session TeamViewer confirmed is ever "open"; links are kept to redraw the card.
    """

    __tablename__ = "remote_sessions"
    # Not unique: TeamViewer may hand out a code again once the old session is long closed.
    __table_args__ = (Index("ix_remote_sessions_tenant_code", "tenant_id", "code"),
                      Index("ix_remote_sessions_state_since", "state", "state_since"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str | None] = mapped_column(String(32), default=None)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), default=None)
    device_name: Mapped[str] = mapped_column(String(200))
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), index=True, default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    end_customer: Mapped[str | None] = mapped_column(String(320), default=None)
    ticket: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    full_client: Mapped[bool | None] = mapped_column(Boolean, default=None)
    supporter_link: Mapped[str] = mapped_column(String(1000), default="")
    end_customer_link: Mapped[str] = mapped_column(String(1000), default="")
    webclient_link: Mapped[str] = mapped_column(String(1000), default="")
    description: Mapped[str] = mapped_column(String(1000), default="")
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    correlation_id: Mapped[str] = mapped_column(String(32))
    # Where the requester asked (bot/places.py), to tell them what became of it later.
    reply_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_since: Mapped[datetime] = mapped_column(default=utcnow)  # set by every move
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(320), default=None)
    end_state: Mapped[str] = mapped_column(String(300), default="")


class TeamViewerCredential(Base):
    """The tenant's OAuth tokens, sealed with the secret key ring; `version` guards rotation."""

    __tablename__ = "teamviewer_credentials"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    connected_by: Mapped[str] = mapped_column(String(320))
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)


class TeamViewerOAuthState(Base):
    """A pending `teamviewer connect`: the state's hash, the sealed PKCE verifier, an expiry."""

    __tablename__ = "teamviewer_oauth_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    verifier: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class RemoteSessionRepo(Repo):
    """TeamViewer sessions deskhand started; every state change is a compare-and-set."""

    async def add(self, row: RemoteSession) -> RemoteSession:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, session_id: int) -> RemoteSession | None:
        row = await self.s.get(RemoteSession, session_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def by_code(self, tenant_id: int, code: str) -> RemoteSession | None:
        q = (select(RemoteSession)
             .where(RemoteSession.tenant_id == tenant_id, RemoteSession.code == code)
             .order_by(RemoteSession.id.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def open_for(self, tenant_id: int, requester_id: int, limit: int = 50) -> Sequence[RemoteSession]:
        q = (select(RemoteSession)
             .where(RemoteSession.tenant_id == tenant_id, RemoteSession.requester_id == requester_id,
                    RemoteSession.state.in_(("open", "closing")))
             .order_by(RemoteSession.id.desc()).limit(limit))
        return (await self.s.execute(q)).scalars().all()


class TeamViewerAuthRepo(Repo):
    """Sealed OAuth tokens per tenant and the one-time states of pending connects."""

    async def credential(self, tenant_id: int) -> TeamViewerCredential | None:
        return await self.s.get(TeamViewerCredential, tenant_id, populate_existing=True)

    async def connect(self, tenant_id: int, access: str, refresh: str, expires_at: datetime,
                      by: str) -> None:
        row = await self.credential(tenant_id)
        if row is None:
            self.s.add(TeamViewerCredential(tenant_id=tenant_id, access_token=access,
                                            refresh_token=refresh, expires_at=expires_at,
                                            connected_by=by))
        else:
            row.access_token, row.refresh_token, row.expires_at = access, refresh, expires_at
            row.version, row.connected_by, row.connected_at = row.version + 1, by, utcnow()
        await self.s.flush()

    async def rotate(self, tenant_id: int, version: int, access: str, refresh: str,
                     expires_at: datetime) -> bool:
        """Store refreshed tokens unless another process already rotated them (version moved)."""
        result = await self.s.execute(
            update(TeamViewerCredential)
            .where(TeamViewerCredential.tenant_id == tenant_id,
                   TeamViewerCredential.version == version)
            .values(access_token=access, refresh_token=refresh, expires_at=expires_at,
                    version=version + 1, refreshed_at=utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_state(self, row: TeamViewerOAuthState) -> None:
        await self.s.execute(delete(TeamViewerOAuthState).where(
            TeamViewerOAuthState.expires_at < utcnow()))
        self.s.add(row)
        await self.s.flush()

    async def state_tenant(self, state_hash: str) -> int | None:
        """The tenant whose sign-in this pending state belongs to (the callback names none)."""
        row = await self.s.get(TeamViewerOAuthState, state_hash)
        return row.tenant_id if row is not None else None

    async def take_state(self, tenant_id: int, state_hash: str) -> TeamViewerOAuthState | None:
        """Consume a pending state: exactly one caller gets it, and only once."""
        row = await self.s.get(TeamViewerOAuthState, state_hash)
        if row is None or row.tenant_id != tenant_id:
            return None
        result = await self.s.execute(delete(TeamViewerOAuthState).where(
            TeamViewerOAuthState.state_hash == state_hash))
        return row if result.rowcount else None  # type: ignore[attr-defined]
