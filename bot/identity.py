"""Link a chat account to a directory principal: stored link first, then the email."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError

from bot.model import Actor, PlatformIdentity, Principal
from storage.db import Database
from storage.directory import DirectoryRepo, PrincipalRow

EmailLookup = Callable[[], Awaitable[str | None]]

NO_ACCESS = (
    "I don't know you yet: your chat account isn't linked to anyone in the directory. "
    "Ask your deskhand administrator to add your email to the directory (SCIM from Okta or "
    "Entra) and give you a role; then try again."
)


def to_principal(row: PrincipalRow) -> Principal:
    return Principal(row.id, row.tenant_id, row.email, row.display_name, row.active)


async def resolve_actor(
    db: Database, tenant_id: int, identity: PlatformIdentity,
    email_lookup: EmailLookup | None = None,
) -> Actor | None:
    """The principal behind a chat account, linking it by email on first sight; None if unknown."""
    try:
        return await _resolve(db, tenant_id, identity, email_lookup)
    except IntegrityError:  # a concurrent request linked the same account first: use its link
        return await _resolve(db, tenant_id, identity, None)


async def _resolve(db: Database, tenant_id: int, identity: PlatformIdentity,
                   email_lookup: EmailLookup | None) -> Actor | None:
    async with db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        row = await directory.linked_principal(identity.platform, identity.platform_tenant,
                                               identity.user_id)
        if row is not None:
            return Actor(to_principal(row), identity)
        if email_lookup is None or not identity.user_id:
            return None
        email = await email_lookup()
        if not email:
            return None
        row = await directory.principal_by_email(tenant_id, email)
        if row is None:
            return None
        await directory.link_identity(tenant_id, row.id, identity.platform,
                                      identity.platform_tenant, identity.user_id,
                                      identity.display)
        await uow.commit()
        return Actor(to_principal(row), identity)
