"""Data-access tokens and the read-only Delta Sharing server at /sharing/.

`data-access enable|disable|refresh`, `token create|download|list|revoke` (commands.py); tokens
are workflow rows (states.TOKENS) keeping only hashes of their secrets; the one-time profile
download (profile.py); the protocol server (sharing.py, protocol.py) over parquet snapshots
(snapshots.py) refreshed every day and on demand.
"""

from __future__ import annotations

from bot.capability import Capability, Job, Route, Service
from bot.events import Listener
from bot.people import PERSON_DEACTIVATED, Deactivated
from bot.runtime import Runtime
from handlers.tokens import commands, lifecycle, profile, sharing
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


TABLE = sharing.TABLE  # a table's own routes hang below it
CAPABILITY = Capability(
    name="tokens",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("token.read", "token.write"),
    config=SharingConfig,
    services=(Service(Snapshots, make_snapshots),),
    routes=(Route("GET", profile.PATH + "{link}", profile.confirm),
            Route("POST", profile.PATH + "{link}", profile.redeem),
            Route("GET", sharing.PREFIX + "/shares", sharing.list_shares),
            Route("GET", sharing.PREFIX + "/shares/{share}", sharing.get_share),
            Route("GET", sharing.PREFIX + "/shares/{share}/schemas", sharing.list_schemas),
            Route("GET", sharing.PREFIX + "/shares/{share}/schemas/{schema}/tables",
                  sharing.list_tables),
            Route("GET", sharing.PREFIX + "/shares/{share}/all-tables", sharing.list_all_tables),
            Route("GET", TABLE + "/version", sharing.table_version),
            Route("HEAD", TABLE, sharing.table_version),  # the protocol's older way to ask
            Route("GET", TABLE + "/metadata", sharing.table_metadata),
            Route("POST", TABLE + "/query", sharing.query),
            Route("GET", sharing.PREFIX + "/files/{link}", sharing.file),
            Route("HEAD", sharing.PREFIX + "/files/{link}", sharing.file),
            Route("*", sharing.PREFIX + "/{tail:.*}", sharing.unknown)),
    listeners=(Listener(PERSON_DEACTIVATED, owner_deactivated),),
    jobs=(Job("tokens.expire", EXPIRE_SECONDS, expire),
          Job("tokens.snapshots", REFRESH_SECONDS, refresh)),
)
