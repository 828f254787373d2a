"""Tenants and each tenant's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class TenantRepo(Repo):
    async def by_slug(self, slug: str) -> Tenant | None:
        return (await self.s.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()

    async def slugs(self) -> dict[int, str]:
        return {row.id: row.slug for row in (await self.s.execute(select(Tenant.id, Tenant.slug)))}

    async def ensure(self, slug: str, name: str) -> Tenant:
        tenant = await self.by_slug(slug)
        if tenant is None:
            tenant = Tenant(slug=slug, name=name)
            self.s.add(tenant)
            await self.s.flush()
        return tenant


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
