"""Each tenant's own integration configuration: one row per (tenant, integration name).

Plain values and sealed secrets are kept apart: `sealed` holds only text sealed with
the secret key ring (bot/secrets.SecretBox), which this layer never opens. `revision` changes
on every write, so each process can tell with one small read whether the client it keeps for a
tenant is still current (bot/tenant_clients.py); it is never reused, even after a delete.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class IntegrationRecord(Base):
    __tablename__ = "integration_configs"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "workspace-one"
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # non-secret keys
    sealed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # secret keys, sealed
    revision: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class IntegrationRepo(Repo):
    async def get(self, tenant_id: int, name: str) -> IntegrationRecord | None:
        return await self.s.get(IntegrationRecord, (tenant_id, name), populate_existing=True)

    async def revision(self, tenant_id: int, name: str) -> str | None:
        """The record's revision (None: no record); one column, read before every use."""
        return (await self.s.execute(select(IntegrationRecord.revision).where(
            IntegrationRecord.tenant_id == tenant_id, IntegrationRecord.name == name))
        ).scalar_one_or_none()

    async def of_tenant(self, tenant_id: int) -> list[IntegrationRecord]:
        return list((await self.s.execute(select(IntegrationRecord).where(
            IntegrationRecord.tenant_id == tenant_id).order_by(IntegrationRecord.name))).scalars())

    async def tenants(self, name: str) -> list[int]:
        """The tenants that have a record for this integration."""
        return list((await self.s.execute(select(IntegrationRecord.tenant_id).where(
            IntegrationRecord.name == name).order_by(IntegrationRecord.tenant_id))).scalars())

    async def put(self, tenant_id: int, name: str, values: dict[str, Any], sealed: dict[str, str],
                  by: str) -> str:
        """Store the whole record (created if absent); returns its new revision."""
        revision = uuid.uuid4().hex
        row = await self.get(tenant_id, name)
        if row is None:
            self.s.add(IntegrationRecord(tenant_id=tenant_id, name=name, values=values,
                                         sealed=sealed, revision=revision, updated_by=by))
        else:
            row.values, row.sealed, row.revision = values, sealed, revision
            row.updated_at, row.updated_by = utcnow(), by
        await self.s.flush()
        return revision

    async def delete(self, tenant_id: int, name: str) -> bool:
        result = await self.s.execute(delete(IntegrationRecord).where(
            IntegrationRecord.tenant_id == tenant_id, IntegrationRecord.name == name))
        return bool(result.rowcount)  # type: ignore[attr-defined]
