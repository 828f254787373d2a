"""Helpers of the Delta Sharing tests: tokens with known secrets, a second tenant, its audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.audit import make_event
from handlers.tokens import access
from handlers.tokens.states import ACTIVE, digest
from storage.audit import AuditRepo
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo
from storage.tokens import DataAccessToken, DataAccessTokenRepo
from tests.conftest import LiveServer


async def other_tenant(server: LiveServer, slug: str = "beta") -> int:
    async with server.runtime.db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure(slug, slug.title())
        await uow.commit()
        return tenant.id


async def audit_rows(server: LiveServer, tenant_id: int, count: int, marker: str) -> None:
    async with server.runtime.db.uow() as uow:
        for n in range(count):
            await uow.repo(AuditRepo).append(make_event(
                tenant_id, "command", f"{marker}.action", "ok", correlation_id=f"{marker}{n:08d}",
                actor_label=f"{marker}@example.com", target=f"{marker}-{n}", params={"n": n}))
        await uow.commit()


async def token(server: LiveServer, tenant_id: int, secret: str, *, state: str = ACTIVE,
                expires_in: timedelta = timedelta(days=30), enable: bool = True) -> int:
    """A token of `tenant_id` whose bearer secret is `secret` (data access turned on)."""
    async with server.runtime.db.uow() as uow:
        if enable:
            await access.put(uow, tenant_id, True, by="test")
        creator = await uow.repo(DirectoryRepo).upsert_principal(  # a token works while its
            tenant_id, "test@example.com", "Test")                 # creator is active
        row = await uow.repo(DataAccessTokenRepo).add(DataAccessToken(
            tenant_id=tenant_id, name=f"{secret}@example.com", state=state, lifetime="1m",
            secret_hash=digest(secret), created_by_email="test@example.com",
            created_by_id=creator.id,
            expires_at=datetime.now(UTC) + expires_in))
        await uow.commit()
        return row.id
