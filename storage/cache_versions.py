"""The access version: one counter that moves whenever anything a command reads before its handler
runs may have changed (who a chat account is, what they may do, the tenant's settings, which
tenant a workspace belongs to).

Processes cache those reads (bot/access_cache.py) and read this one row at each command: a moved
counter drops their caches. The counter is moved by database triggers (migration 0030) on every
table in WATCHED, in the transaction that changes the table, so no writer can forget it, raw SQL
and other releases' code included. On PostgreSQL the triggers are deferred to the commit and
move it once per transaction: the row is locked last and briefly, so writers never deadlock on
it. A migration that rebuilds one of these tables on SQLite (batch_alter_table copies it) must
create its triggers again (tests/bot/test_access_cache.py checks that every table has them).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base

# Every table whose rows a command's identity, grants, settings or tenant depend on.
WATCHED = (
    "tenants", "tenant_settings", "chat_workspaces", "mapped_platforms",  # tenancy, settings
    "principals", "chat_identities",  # who a chat account is, and whether they are active
    "directory_groups", "group_memberships", "roles", "role_assignments",  # grants
)
ROW = 1  # the one row


class CacheVersion(Base):
    __tablename__ = "cache_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)


# Plain text, so that nothing is built or compiled per command.
_CURRENT = f"SELECT version FROM cache_versions WHERE id = {ROW}"


async def current(conn: AsyncConnection) -> int | None:
    """The counter now; None when the row is missing (then nothing may be cached)."""
    found = (await conn.exec_driver_sql(_CURRENT)).first()
    return int(found[0]) if found is not None else None
