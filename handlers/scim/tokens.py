"""Each tenant's SCIM bearer token: created once, rotated on demand, only its hash kept."""

from __future__ import annotations

import hashlib
import secrets

from handlers.scim import texts
from storage.scim import ScimRepo
from storage.tenants import TenantRepo
from storage.uow import UnitOfWork


def new_secret() -> str:
    return "scim_" + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored of a token: its SHA-256 (the token itself is shown once, never kept)."""
    return hashlib.sha256(secret.encode()).hexdigest()


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
