"""`cert activate`: prove the certificate with a real client-assertion token request, and only
then make it the active one (the one it replaces is retired, in the same transaction).

The proof runs under a per-tenant lease, so two admins activating at once cannot both win; the
moves are compare-and-sets, so a certificate that changed meanwhile is reported, not overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.audit import Audit
from bot.errors import Conflict, UserError
from handlers.certificates import texts
from handlers.certificates.config import IdpSettings
from handlers.certificates.lifecycle import CERTIFICATES
from integrations.http import VendorError
from integrations.idp.client import Credential, IdpConfig, request_token
from storage.certificates import ACTIVE, AVAILABLE, RETIRED, CertificateRepo, IdpCertificate

if TYPE_CHECKING:
    from bot.context import Context
    from bot.runtime import Runtime

LEASE = "certificates.activate"
LEASE_TTL = timedelta(minutes=2)


def idp_config(runtime: Runtime) -> IdpConfig | None:
    s = runtime.config(IdpSettings)
    if not (s.idp_kind and s.idp_token_url and s.idp_client_id):
        return None
    return IdpConfig(s.idp_kind, s.idp_token_url, s.idp_client_id, s.idp_scope, s.idp_ca_file)


def check_activatable(row: IdpCertificate, now: datetime) -> None:
    when = (row.state_since or now).strftime("%Y-%m-%d")
    if row.state == ACTIVE:
        raise Conflict(texts.ALREADY_ACTIVE.format(thumbprint=row.thumbprint),
                       title=texts.ALREADY_ACTIVE_TITLE)
    if row.state == RETIRED:
        raise UserError(texts.RETIRED.format(thumbprint=row.thumbprint, when=when),
                        title=texts.RETIRED_TITLE)
    if row.not_after <= now:
        raise UserError(texts.EXPIRED.format(thumbprint=row.thumbprint,
                                             when=row.not_after.strftime("%Y-%m-%d")),
                        title=texts.EXPIRED_TITLE)


@dataclass(frozen=True)
class Activated:
    row: IdpCertificate
    replaced: str | None  # the thumbprint it retired
    vendor: str


async def activate(ctx: Context, row_id: int) -> Activated:
    rt, tenant = ctx.runtime, ctx.tenant_id
    config = idp_config(rt)
    if config is None:
        raise UserError(texts.NOT_CONFIGURED, title=texts.NOT_CONFIGURED_TITLE)
    async with rt.db.uow() as uow:
        row = await uow.repo(CertificateRepo).get(tenant, row_id)
    if row is None:
        raise UserError(texts.NOT_FOUND.format(thumbprint=f"#{row_id}"), title=texts.NOT_FOUND_TITLE)
    ctx.target = row.thumbprint
    ctx.audit_params["thumbprint"] = row.thumbprint
    check_activatable(row, datetime.now(UTC))
    key, me = str(tenant), rt.scheduler.claims.one_off()  # excludes this process's other clicks too
    if not await rt.scheduler.claims.lease(LEASE, LEASE_TTL, key, me):
        raise Conflict(texts.BUSY, title=texts.BUSY_TITLE)
    try:
        return await _prove_and_move(ctx, config, row)
    finally:
        await rt.scheduler.claims.release(LEASE, key, me)


async def _prove_and_move(ctx: Context, config: IdpConfig, row: IdpCertificate) -> Activated:
    rt, tenant = ctx.runtime, ctx.tenant_id
    async with rt.db.uow() as uow:  # again, under the lease: an activation may just have ended
        row = await uow.repo(CertificateRepo).get(tenant, row.id) or row
        old = await uow.repo(CertificateRepo).active(tenant)
    check_activatable(row, datetime.now(UTC))
    credential = Credential(row.thumbprint, row.certificate_pem, rt.secrets.open(row.private_key))
    params: dict[str, object] = {"thumbprint": row.thumbprint, "idp": config.kind,
                                 "client_id": config.client_id}
    try:
        issued = await request_token(config, credential, ctx.correlation_id)
    except VendorError as exc:
        await _audit(ctx, "failed", params, exc.message)
        current = (texts.CURRENT_STAYS.format(old=old.thumbprint) if old is not None
                   else texts.NONE_ACTIVE)
        raise UserError(texts.REFUSED_TEXT.format(reason=exc.message, current=current),
                        title=texts.REFUSED_TITLE) from None
    now = datetime.now(UTC)
    async with rt.db.uow() as uow:
        now_active = await uow.repo(CertificateRepo).active(tenant)
        if (now_active.id if now_active else None) != (old.id if old else None):
            raise Conflict(texts.OTHER_ACTIVE.format(
                thumbprint=row.thumbprint, other=now_active.thumbprint if now_active else "none"))
        if old is not None and not await CERTIFICATES.move(uow, tenant, old.id, ACTIVE, RETIRED):
            raise Conflict(texts.MOVED.format(thumbprint=old.thumbprint, state="no longer active"))
        if not await CERTIFICATES.move(uow, tenant, row.id, AVAILABLE, ACTIVE, activated_at=now,
                                       activated_by=ctx.actor.principal.email):
            raise Conflict(texts.MOVED.format(thumbprint=row.thumbprint, state="no longer available"))
        await Audit.add(uow, tenant, "infrastructure", "certificate.activate", "ok", actor=ctx.actor,
                        correlation_id=ctx.correlation_id, target=row.thumbprint,
                        params={**params, "replaced": old.thumbprint if old else None,
                                "token_expires_in": issued.expires_in},
                        detail=f"{config.vendor} issued a token for the client assertion")
        await uow.commit()
        fresh = await uow.repo(CertificateRepo).get(tenant, row.id)
    return Activated(fresh or row, old.thumbprint if old else None, config.vendor)


async def _audit(ctx: Context, outcome: str, params: dict[str, object], detail: str) -> None:
    await ctx.runtime.audit.record(ctx.tenant_id, "infrastructure", "certificate.activate", outcome,
                                   actor=ctx.actor, correlation_id=ctx.correlation_id,
                                   target=str(params["thumbprint"]), params=params, detail=detail)
