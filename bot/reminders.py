"""Expiry reminders for any subject: marks, the once-only claim, and delivery to people.

A capability declares a `ReminderSource` (bot/capability.py): which of its rows crossed a mark
since the last sweep, and how to remind about one. The sweep (`sweep`) asks each source for the
rows whose expiry minus a mark fell since the previous sweep (an index range, never a scan),
takes the latest mark each has passed (a late run posts that one only, not every mark it
missed), claims (kind, subject, mark) with a unique row and posts only when the claim is its
own: each reminder once, across restarts and replicas. A post that fails after its claim is
logged and not retried (at most once).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.model import PlatformIdentity
from bot.rbac import decide, grants_of
from bot.tenant_settings import ReminderSettings
from cards.model import Card
from storage.base import utcnow
from storage.directory import DirectoryRepo
from storage.reminders import Expiring, ReminderRepo
from storage.tenants import TenantRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.reminders")
CHANNEL_PLATFORMS = ("slack", "teams")  # platforms with channels; the console has one room


class ReminderSource(Protocol):
    kind: str  # stored in the claims: "token", "certificate"

    async def crossing(self, uow: UnitOfWork, tenant_id: int, since: datetime | None,
                       now: datetime, days: Sequence[int]) -> list[Expiring]:
        """Rows (not yet expired) whose expiry minus one of `days` fell in (since, now]."""
        ...

    async def remind(self, runtime: Runtime, subject: Expiring, days: int,
                     settings: ReminderSettings) -> int:
        """Post the reminder; how many places it reached."""
        ...


def channel_platforms(runtime: Runtime) -> list[str]:
    """The platforms with channels that deskhand serves here (Teams: with an app id)."""
    return [p for p in CHANNEL_PLATFORMS if p in runtime.platforms
            and (p == "slack" or runtime.settings.teams_app_id.strip())]


def latest_mark(expires_at: datetime, now: datetime, days: Sequence[int]) -> int | None:
    """The smallest mark already passed (3 when 2.5 days are left), or None before the first."""
    passed = [d for d in days if expires_at - now <= timedelta(days=d)]
    return min(passed) if passed and expires_at > now else None


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def sweep(runtime: Runtime, sources: Sequence[ReminderSource],
                now: datetime | None = None) -> int:
    """Post every reminder due now, in every tenant; returns how many were claimed and posted
    by this call."""
    now = now or utcnow()
    async with runtime.db.uow() as uow:
        tenants = await uow.repo(TenantRepo).ids()
    return sum([await _sweep(runtime, tenant, sources, now) for tenant in tenants])


async def _sweep(runtime: Runtime, tenant: int, sources: Sequence[ReminderSource],
                 now: datetime) -> int:
    async with runtime.db.uow() as uow:
        settings = await ReminderSettings.read(uow, tenant)
    posted = 0
    for source in sources:
        async with runtime.db.uow() as uow:
            since = await uow.repo(ReminderRepo).swept_to(tenant, source.kind)
            due = await source.crossing(uow, tenant, since, now, settings.reminder_days)
        for subject in sorted(due, key=lambda s: (s.expires_at, s.id)):
            mark = latest_mark(subject.expires_at, now, settings.reminder_days)
            if mark is None:
                continue
            async with runtime.db.uow() as uow:
                won = await uow.repo(ReminderRepo).claim(tenant, source.kind, subject.id, mark,
                                                         _holder())
                await uow.commit()
            if not won:
                continue  # another process (or an earlier run) has it
            posted += 1
            try:
                reached = await source.remind(runtime, subject, mark, settings)
            except Exception:
                log.exception("the %s-day reminder of %s %s failed", mark, source.kind, subject.id)
                continue
            if not reached:
                log.warning("the %s-day reminder of %s %s reached nobody", mark, source.kind,
                            subject.id)
        async with runtime.db.uow() as uow:
            await uow.repo(ReminderRepo).advance(tenant, source.kind, now)
            await uow.commit()
    return posted


@dataclass(frozen=True)
class Person:
    principal_id: int
    name: str
    accounts: tuple[PlatformIdentity, ...]  # linked chat accounts

    def on(self, platform: str) -> PlatformIdentity | None:
        return next((a for a in self.accounts if a.platform == platform), None)


async def people(uow: UnitOfWork, principal_ids: Sequence[int]) -> list[Person]:
    directory = uow.repo(DirectoryRepo)
    out = []
    for pid in principal_ids:
        row = await directory.principal(pid)
        if row is None or not row.active:
            continue
        accounts = tuple(PlatformIdentity(i.platform, i.platform_tenant, i.platform_user_id,  # type: ignore[arg-type]
                                          i.display or row.display_name)
                         for i in await directory.identities_of(pid))
        out.append(Person(pid, row.display_name or row.email, accounts))
    return out


async def holders(uow: UnitOfWork, tenant_id: int, permission: str) -> list[Person]:
    """The active people who hold `permission` tenant-wide."""
    rows = await uow.repo(DirectoryRepo).principals(tenant_id)
    ids = [p.id for p in rows if p.active
           and decide(await grants_of(uow, tenant_id, p.id), permission).allowed]
    return await people(uow, ids)


async def tell_personally(runtime: Runtime, person: Person, card: Card) -> int:
    """A personal message on each platform where the person has an account deskhand serves;
    the console (where it is on) reaches everyone: its accounts are the directory's people."""
    reached = 0
    accounts = list(person.accounts)
    if runtime.messenger("console") is not None and person.on("console") is None:
        accounts.append(PlatformIdentity("console", "local", str(person.principal_id), person.name))
    for account in accounts:
        messenger = runtime.messenger(account.platform)
        if messenger is None:
            continue
        try:
            await messenger.post_personal(account, card)
            reached += 1
        except Exception as exc:  # the app was removed, the person left: the others still go
            log.warning("a personal reminder to a %s account was not delivered: %s",
                        account.platform, type(exc).__name__)
    return reached
