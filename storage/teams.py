"""Stored Teams conversation references, where deskhand can post without being spoken to first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class TeamsConversation(Base):
    """Where deskhand can post in Teams without being spoken to first (proactive messages).

    `reference` is the Bot Framework ConversationReference JSON, refreshed from every inbound
    activity because Teams may change `serviceUrl`. `user_aad_id` is set for 1:1 chats so a
    person can be messaged directly; `installed` turns false when the app is removed.
    """

    __tablename__ = "teams_conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(500))
    conversation_type: Mapped[str] = mapped_column(String(32), default="")
    aad_tenant_id: Mapped[str] = mapped_column(String(100), default="")
    team_id: Mapped[str | None] = mapped_column(String(200), default=None)
    channel_id: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    user_aad_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    service_url: Mapped[str] = mapped_column(String(500))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamsConversationRepo(Repo):
    """Stored Teams conversation references, one row per (tenant, conversation id)."""

    async def get(self, tenant_id: int, conversation_id: str) -> TeamsConversation | None:
        q = select(TeamsConversation).where(TeamsConversation.tenant_id == tenant_id,
                                            TeamsConversation.conversation_id == conversation_id)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def upsert(self, tenant_id: int, conversation_id: str, **fields: Any) -> TeamsConversation:
        row = await self.get(tenant_id, conversation_id)
        if row is None:
            row = TeamsConversation(tenant_id=tenant_id, conversation_id=conversation_id, **fields)
            self.s.add(row)
        else:
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        await self.s.flush()
        return row

    async def personal(self, tenant_id: int, user_aad_id: str) -> TeamsConversation | None:
        """The 1:1 chat with a person, if deskhand is installed for them."""
        q = (select(TeamsConversation)
             .where(TeamsConversation.tenant_id == tenant_id,
                    TeamsConversation.user_aad_id == user_aad_id,
                    TeamsConversation.conversation_type == "personal",
                    TeamsConversation.installed.is_(True))
             .order_by(TeamsConversation.updated_at.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def latest_in(self, tenant_id: int, aad_tenant_id: str) -> TeamsConversation | None:
        """The most recently seen conversation in a Microsoft 365 tenant: its serviceUrl and
        bot account are where a new 1:1 chat is created."""
        q = (select(TeamsConversation)
             .where(TeamsConversation.tenant_id == tenant_id,
                    TeamsConversation.aad_tenant_id == aad_tenant_id,
                    TeamsConversation.installed.is_(True))
             .order_by(TeamsConversation.updated_at.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def channel(self, tenant_id: int, channel_id: str) -> TeamsConversation | None:
        """The channel's own conversation (not a reply thread inside it)."""
        q = (select(TeamsConversation)
             .where(TeamsConversation.tenant_id == tenant_id,
                    TeamsConversation.conversation_id == channel_id,
                    TeamsConversation.installed.is_(True)))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def uninstalled(self, tenant_id: int, conversation_id: str) -> None:
        await self.s.execute(update(TeamsConversation).where(
            TeamsConversation.tenant_id == tenant_id,
            TeamsConversation.conversation_id == conversation_id).values(installed=False))
