"""Creating, revoking and activating tokens: each change and its audit row commit together,
and every state change is a compare-and-set of the token workflow (states.TOKENS)."""

from __future__ import annotations

from bot import places
from bot.audit import Audit
from bot.context import Context
from bot.errors import Conflict, NotFound, UserError
from bot.model import ReplyTarget, new_correlation_id
from handlers.tokens import access, texts
from handlers.tokens.states import (
    ACTIVE,
    EXPIRED,
    LIFETIMES,
    PENDING,
    REVOKED,
    TOKENS,
    digest,
    new_secret,
    now,
    unusable_hash,
)
from storage.db import Database
from storage.tokens import DataAccessToken, DataAccessTokenRepo
from storage.uow import UnitOfWork

KIND = "data-access"  # the audit kind of everything that changes a token


async def require_on(uow: UnitOfWork, tenant_id: int) -> None:
    if not await access.enabled(uow, tenant_id):
        raise UserError(texts.OFF, title="Data access is off")


async def load(ctx: Context, token_id: int) -> DataAccessToken:
    """The token from the database, in the asker's tenant; names it in the audit row."""
    async with ctx.runtime.db.uow() as uow:
        row = await uow.repo(DataAccessTokenRepo).get(ctx.tenant_id, token_id)
    if row is None:
        raise NotFound(texts.UNKNOWN.format(id=token_id), title="Unknown token")
    ctx.target = row.name
    ctx.audit_params["id"] = row.id
    return row


async def create(ctx: Context, name: str, description: str, lifetime: str,
                 reply_to: ReplyTarget) -> DataAccessToken:
    """A new pending token for the asker; its secret is made when they download its profile."""
    me = ctx.actor.principal
    async with ctx.runtime.db.uow() as uow:
        await require_on(uow, ctx.tenant_id)
        row = await uow.repo(DataAccessTokenRepo).add(DataAccessToken(
            tenant_id=ctx.tenant_id, name=name[:320], description=description[:500],
            state=PENDING, lifetime=lifetime, secret_hash=unusable_hash(),
            created_by_id=me.id, created_by_email=me.email,
            reply_to=places.stored(reply_to, ctx.actor),
            expires_at=now() + LIFETIMES[lifetime]))
        await uow.commit()
    ctx.target = row.name
    ctx.audit_params["id"] = row.id
    return row


async def revoke(ctx: Context, row: DataAccessToken) -> tuple[DataAccessToken, bool]:
    """Revoke unless it ended meanwhile; (the row as it is now, whether this call revoked it)."""
    async with ctx.runtime.db.uow() as uow:
        done = await TOKENS.move(uow, ctx.tenant_id, row.id, (PENDING, ACTIVE), REVOKED,
                                 revoked_at=now(), revoked_by=ctx.actor.principal.email)
        await uow.commit()
        current = await uow.repo(DataAccessTokenRepo).get(ctx.tenant_id, row.id)
    if current is None:
        raise Conflict(texts.UNKNOWN.format(id=row.id), title="Token gone")
    return current, done


async def activate(db: Database, tenant_id: int, token_id: int, principal_id: int
                   ) -> tuple[DataAccessToken, str] | None:
    """Give the pending token its secret and make it active, once: None when it is not pending
    any more (the link was used, or the token was revoked, expired or deleted)."""
    secret = new_secret()
    async with db.uow() as uow:
        if not await access.enabled(uow, tenant_id):
            return None
        tokens = uow.repo(DataAccessTokenRepo)
        row = await tokens.get(tenant_id, token_id)
        if row is None or row.created_by_id != principal_id or row.expires_at <= now():
            return None
        if not await TOKENS.move(uow, tenant_id, token_id, PENDING, ACTIVE,
                                 secret_hash=digest(secret), activated_at=now()):
            return None
        await Audit.add(uow, tenant_id, KIND, "token.download", "ok",
                        actor_label=row.created_by_email, target=row.name,
                        correlation_id=new_correlation_id(), params={"id": row.id})
        await uow.commit()
        row = await tokens.get(tenant_id, token_id) or row
    return row, secret


async def expire(db: Database) -> int:
    """Move every token whose time is up to expired (the endpoint refuses them already)."""
    moved = 0
    async with db.uow() as uow:
        for tenant_id, token_id in await uow.repo(DataAccessTokenRepo).past_expiry(
                (PENDING, ACTIVE), now()):
            moved += await TOKENS.move(uow, tenant_id, token_id, (PENDING, ACTIVE), EXPIRED)
        await uow.commit()
    return moved


async def revoke_all_of(db: Database, tenant_id: int, principal_id: int, by: str) -> int:
    """Revoke every pending or active token a person created (they were deactivated)."""
    async with db.uow() as uow:
        tokens = uow.repo(DataAccessTokenRepo)
        revoked = 0
        for token_id in await tokens.ids_created_by(tenant_id, principal_id, (PENDING, ACTIVE)):
            if await TOKENS.move(uow, tenant_id, token_id, (PENDING, ACTIVE), REVOKED,
                                 revoked_at=now(), revoked_by=by[:320]):
                revoked += 1
                await Audit.add(uow, tenant_id, KIND, "token.revoke", "ok", actor_label=by,
                                correlation_id=new_correlation_id(), params={"id": token_id},
                                detail=texts.OWNER_DEACTIVATED)
        await uow.commit()
    return revoked


async def delete_all(ctx: Context) -> int:
    async with ctx.runtime.db.uow() as uow:
        count = await uow.repo(DataAccessTokenRepo).delete_all(ctx.tenant_id)
        await access.put(uow, ctx.tenant_id, False, by=ctx.actor.principal.email)
        await uow.commit()
    return count

