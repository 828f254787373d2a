"""Tenants, each tenant's settings, and the chat workspaces that belong to each tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Integer, String, Table, UniqueConstraint, case, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


TENANTS = cast(Table, Tenant.__table__)


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class ChatWorkspace(Base):
    """A chat workspace and the tenant it belongs to (bot/tenancy.py): a Slack workspace (kind
    `slack-team`, its team id T...), a Slack Enterprise Grid org (`slack-org`, E...) or the
    Microsoft 365 tenant a Teams user belongs to (`teams-tenant`, its Entra tenant id).

    `bot_token` is the Slack bot token of that workspace's own installation, sealed with the
    secret key ring (bot/secrets.SecretBox; this layer never opens it); None: the
    deployment's DESKHAND_SLACK_BOT_TOKEN serves it.
    """

    __tablename__ = "chat_workspaces"
    __table_args__ = (UniqueConstraint("platform", "kind", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(100))
    bot_token: Mapped[str | None] = mapped_column(String(2000), default=None)  # sealed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class MappedPlatform(Base):
    """A chat platform on which a workspace was ever mapped (`deskhand tenant map`): from then on
    its unmapped workspaces are refused, even once no mapping is left (bot/tenancy.py), so that
    unmapping the last workspace of a tenant never hands its people to the deployment's own."""

    __tablename__ = "mapped_platforms"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(320), default="")


class TenantRepo(Repo):
    async def by_slug(self, slug: str) -> Tenant | None:
        return (await self.s.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()

    async def slugs(self) -> dict[int, str]:
        return {row.id: row.slug for row in (await self.s.execute(select(Tenant.id, Tenant.slug)))}

    async def ensure_id(self, slug: str, name: str) -> int:
        """The tenant's id, made first if it is new (once, however many processes start at
        once). Core statements only: a process whose own work is all Core, such as a listener
        whose workers run the commands, never configures the ORM's ~700 mapped attributes."""
        t = TENANTS.c
        find = select(t.id).where(t.slug == slug)
        found = await self.s.scalar(find)
        if found is None:
            await self.s.execute(self.insert(TENANTS).values(slug=slug, name=name)
                                 .on_conflict_do_nothing(index_elements=["slug"]))
            found = await self.s.scalar(find)
        return cast(int, found)

    async def ensure(self, slug: str, name: str) -> Tenant:
        tenant = await self.s.get(Tenant, await self.ensure_id(slug, name))
        assert tenant is not None  # made or found just now, in this transaction
        return tenant

    async def get(self, tenant_id: int) -> Tenant | None:
        return await self.s.get(Tenant, tenant_id)

    async def all(self) -> list[Tenant]:
        return list((await self.s.execute(select(Tenant).order_by(Tenant.id))).scalars())

    async def ids(self) -> list[int]:
        """Every tenant's id: what the jobs that work per tenant go through."""
        return list((await self.s.execute(select(Tenant.id).order_by(Tenant.id))).scalars())


class SettingsRepo(Repo):
    async def get(self, tenant_id: int) -> dict[str, Any]:
        row = await self.s.get(TenantSettingsRow, tenant_id)
        return dict(row.values) if row else {}

    async def put(self, tenant_id: int, values: dict[str, Any], by: str) -> None:
        row = await self.s.get(TenantSettingsRow, tenant_id)
        if row is None:
            self.s.add(TenantSettingsRow(tenant_id=tenant_id, values=values, updated_by=by))
        else:
            row.values, row.updated_by, row.updated_at = values, by, utcnow()
        await self.s.flush()


class WorkspaceRepo(Repo):
    async def get(self, platform: str, kind: str, external_id: str) -> ChatWorkspace | None:
        return (await self.s.execute(select(ChatWorkspace).where(
            ChatWorkspace.platform == platform, ChatWorkspace.kind == kind,
            ChatWorkspace.external_id == external_id))).scalar_one_or_none()

    async def matching(self, platform: str, ids: Sequence[tuple[str, str]]) -> list[ChatWorkspace]:
        """The mapped workspaces among these (kind, external id) pairs of one platform."""
        wanted = [(k, i) for k, i in ids if i]
        if not wanted:
            return []
        rows = (await self.s.execute(select(ChatWorkspace).where(
            ChatWorkspace.platform == platform,
            ChatWorkspace.external_id.in_([i for _, i in wanted])))).scalars()
        return [r for r in rows if (r.kind, r.external_id) in wanted]

    async def any_of(self, platform: str) -> bool:
        """Whether any workspace of the platform is mapped now."""
        return (await self.s.execute(select(ChatWorkspace.id).where(
            ChatWorkspace.platform == platform).limit(1))).first() is not None

    async def ever_mapped(self, platform: str) -> bool:
        """Whether a workspace of the platform is mapped, or ever was (MappedPlatform)."""
        return await self.s.get(MappedPlatform, platform) is not None or await self.any_of(platform)

    async def mark_mapped(self, platform: str, by: str) -> bool:
        """Record that the platform has a mapping; whether this is its first."""
        if await self.s.get(MappedPlatform, platform) is not None:
            return False
        self.s.add(MappedPlatform(platform=platform, by=by))
        await self.s.flush()
        return True

    async def all(self, tenant_id: int | None = None) -> list[ChatWorkspace]:
        q = select(ChatWorkspace).order_by(ChatWorkspace.tenant_id, ChatWorkspace.platform,
                                           ChatWorkspace.kind, ChatWorkspace.external_id)
        if tenant_id is not None:
            q = q.where(ChatWorkspace.tenant_id == tenant_id)
        return list((await self.s.execute(q)).scalars())

    async def token_of_tenant(self, tenant_id: int) -> str | None:
        """The sealed Slack bot token a tenant posts with where no request names its workspace:
        its Enterprise Grid org's, else its first workspace's that has one."""
        return (await self.s.execute(
            select(ChatWorkspace.bot_token)
            .where(ChatWorkspace.tenant_id == tenant_id, ChatWorkspace.platform == "slack",
                   ChatWorkspace.bot_token.is_not(None))
            .order_by(case((ChatWorkspace.kind == "slack-org", 0), else_=1), ChatWorkspace.id)
            .limit(1))).scalar_one_or_none()

    async def add(self, row: ChatWorkspace) -> ChatWorkspace:
        self.s.add(row)
        await self.s.flush()
        return row

    async def delete(self, row_id: int) -> None:
        await self.s.execute(delete(ChatWorkspace).where(ChatWorkspace.id == row_id))
