"""What `tokens` runs (bot/capability.Work): its commands, the jobs that expire tokens and
refresh the snapshots, the snapshots service, and revoking a deactivated owner's tokens."""

from __future__ import annotations

from bot.capability import Job, Service, Work
from bot.events import Listener
from bot.people import PERSON_DEACTIVATED, Deactivated
from bot.runtime import Runtime
from handlers.tokens import commands, lifecycle, sharing
from handlers.tokens.config import SharingConfig, snapshot_root
from handlers.tokens.snapshots import Snapshots
from handlers.tokens.states import ACTIVE
from storage.tokens import DataAccessTokenRepo

EXPIRE_SECONDS = 600
REFRESH_SECONDS = 24 * 3600


async def expire(runtime: Runtime) -> None:
    await lifecycle.expire(runtime.db)


async def refresh(runtime: Runtime) -> None:
    """Fresh snapshots for every tenant someone reads with an active token."""
    async with runtime.db.uow() as uow:
        tenants = await uow.repo(DataAccessTokenRepo).tenants_with((ACTIVE,))
    await sharing.snapshots(runtime).refresh_all(tenants)


async def owner_deactivated(runtime: Runtime, event: Deactivated) -> None:
    """Their tokens are refused at once (sharing.reader_of); revoking shows it in `token list`."""
    await lifecycle.revoke_all_of(runtime.db, event.tenant_id, event.principal_id, event.by)


def make_snapshots(runtime: Runtime) -> Snapshots:
    return Snapshots(snapshot_root(runtime.config(SharingConfig), runtime.settings.database_url),
                     runtime.db)


WORK = Work(
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("token.read", "token.write"),
    services=(Service(Snapshots, make_snapshots),),
    listeners=(Listener(PERSON_DEACTIVATED, owner_deactivated),),
    jobs=(Job("tokens.expire", EXPIRE_SECONDS, expire),
          Job("tokens.snapshots", REFRESH_SECONDS, refresh)),
)
