"""Each tenant's SCIM bearer token: created once, rotated on demand, only its hash kept."""

from __future__ import annotations

from handlers.scim import texts
from handlers.scim.protocol import digest, new_secret
from storage.scim import ScimRepo
from storage.tenants import TenantRepo
from storage.uow import UnitOfWork


class TokenRefused(ValueError):
    pass


async def issue(uow: UnitOfWork, tenant_slug: str, *, rotate: bool) -> str:
    """A new secret for the tenant (shown once by the caller); the old one stops at commit."""
    tenant = await uow.repo(TenantRepo).by_slug(tenant_slug)
    if tenant is None:
        raise TokenRefused(texts.CLI_NO_TENANT.format(tenant=tenant_slug))
    repo = uow.repo(ScimRepo)
    current = await repo.token_of(tenant.id)
    if current is not None and not rotate:
        raise TokenRefused(texts.CLI_EXISTS.format(tenant=tenant_slug, since=current.created_at))
    if current is None and rotate:
        raise TokenRefused(texts.CLI_NONE.format(tenant=tenant_slug))
    secret = new_secret()
    await repo.put_token(tenant.id, digest(secret))
    return secret
