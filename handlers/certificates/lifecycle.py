"""The certificates' workflow, and the rollover: a key pair when none is usable.

available -> active -> retired. The tenant needs a new certificate when none of its active or
available ones is still short of 90% of its validity: at first (none exists) and once the active
one has passed 90% with no fresher one waiting. The new one is `available` until an admin uploads
it to the IdP and activates it. Two replicas (or a job and a `cert list`) never both make one:
the check and the insert run under a lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.audit import Audit
from bot.model import new_correlation_id
from bot.workflow import Workflow
from handlers.certificates.config import IdpSettings
from handlers.certificates.keys import generate, rollover_point
from storage.certificates import ACTIVE, AVAILABLE, RETIRED, CertificateRepo, IdpCertificate
from storage.tenants import TenantRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

CERTIFICATES = Workflow("idp certificate", IdpCertificate,
                        {AVAILABLE: (ACTIVE,), ACTIVE: (RETIRED,)})
LEASE = "certificates.rollover"
LEASE_TTL = timedelta(minutes=2)
ROLLOVER_SECONDS = 3600.0


def needs_new(rows: Sequence[IdpCertificate], now: datetime) -> bool:
    """No active or available certificate is still short of its rollover point."""
    return not any(r.state in (ACTIVE, AVAILABLE) and rollover_point(r.not_before, r.not_after) > now
                   for r in rows)


async def ensure(runtime: Runtime, tenant: int,
                 now: datetime | None = None) -> IdpCertificate | None:
    """Make an available certificate if the tenant needs one; the new row, else None."""
    now = now or datetime.now(UTC)
    async with runtime.db.uow() as uow:
        if not needs_new(await uow.repo(CertificateRepo).current(tenant), now):
            return None
        named = await uow.repo(TenantRepo).get(tenant)
    slug = named.slug if named is not None else str(tenant)  # the certificate's subject names it
    key, me = str(tenant), runtime.scheduler.claims.one_off()  # a job and a `cert list` at once
    if not await runtime.scheduler.claims.lease(LEASE, LEASE_TTL, key, me):
        return None  # another replica or task is at it
    try:
        async with runtime.db.uow() as uow:
            repo = uow.repo(CertificateRepo)
            if not needs_new(await repo.current(tenant), now):
                return None
            settings = runtime.config(IdpSettings)
            # RSA key generation takes tens of milliseconds: off the event loop.
            pair = await asyncio.to_thread(
                generate, f"{settings.idp_certificate_subject} {slug}", now)
            row = await repo.add(IdpCertificate(
                tenant_id=tenant, thumbprint=pair.thumbprint, subject=pair.subject,
                state=AVAILABLE, state_since=now, not_before=pair.not_before,
                not_after=pair.not_after, certificate_pem=pair.certificate_pem,
                private_key=runtime.secrets.seal(pair.private_key_pem), created_at=now))
            await Audit.add(uow, tenant, "infrastructure", "certificate.generate", "ok",
                            actor_label="deskhand", correlation_id=new_correlation_id(),
                            target=pair.thumbprint,
                            params={"thumbprint": pair.thumbprint,
                                    "not_after": pair.not_after.isoformat()},
                            detail=f"a new key pair and self-signed certificate, {pair.subject}")
            await uow.commit()
            return row
    finally:
        await runtime.scheduler.claims.release(LEASE, key, me)


async def rollover(runtime: Runtime) -> None:
    """Every tenant's, each under its own lease."""
    async with runtime.db.uow() as uow:
        tenants = await uow.repo(TenantRepo).ids()
    for tenant in tenants:
        await ensure(runtime, tenant)
