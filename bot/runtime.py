"""build_runtime(settings): the one place that wires storage, router, platforms and jobs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.audit import Audit
from bot.downloads import Downloads
from bot.inbox import Inbox
from bot.metrics import Metrics
from bot.rbac import ensure_system_roles
from bot.registry import Registry
from bot.router import Router
from bot.scheduler import Scheduler
from bot.secrets import SecretBox
from bot.settings import Settings
from storage import migrate
from storage.db import Database
from storage.inbox import InboxStore
from storage.tenants import TenantRepo

if TYPE_CHECKING:
    from bot.messaging import Messenger

log = logging.getLogger("deskhand")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    audit: Audit
    registry: Registry
    metrics: Metrics
    scheduler: Scheduler
    secrets: SecretBox
    downloads: Downloads
    inbox: Inbox
    router: Router = field(init=False)
    tenant_id: int = 0
    platforms: dict[str, Any] = field(default_factory=dict)  # adapters by name
    services: dict[str, Any] = field(default_factory=dict)  # vendor clients, made on first use
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # before the db closes
    run_jobs: bool = True  # off in a listener whose worker processes run the scheduled jobs

    def __post_init__(self) -> None:
        self.router = Router(self)

    def messenger(self, platform: str) -> Messenger | None:
        """The platform's Messenger for background jobs (console: its hub), if it is mounted."""
        adapter = self.platforms.get(platform)
        if adapter is None:
            return None
        return getattr(adapter, "messenger", None) or getattr(adapter, "hub", None)

    async def start(self, *, upgrade: bool = False) -> None:
        if upgrade:
            await migrate.upgrade(self.db.engine)
        elif not await migrate.is_current(self.db.engine):
            raise RuntimeError("the database schema is not current: run `deskhand db upgrade`")
        async with self.db.uow() as uow:
            tenant = await uow.repo(TenantRepo).ensure(self.settings.tenant, self.settings.tenant_name)
            await ensure_system_roles(uow, tenant.id)
            await uow.commit()
            self.tenant_id = tenant.id
        if self.run_jobs:
            self.scheduler.start()
        await self.inbox.start()
        for adapter in self.platforms.values():  # e.g. Slack Socket Mode connects here
            start = getattr(adapter, "start", None)
            if start is not None:
                await start()

    async def stop_intake(self) -> None:
        """Take no more chat requests (Slack Socket Mode disconnects; HTTP stops with aiohttp)."""
        for adapter in self.platforms.values():
            stop_intake = getattr(adapter, "stop_intake", None)
            if stop_intake is not None:
                await stop_intake()

    async def stop(self) -> None:
        await self.stop_intake()  # before the inbox stops: nothing acked that cannot be stored
        await self.inbox.stop()
        await self.scheduler.stop()
        for hook in self.on_stop:
            await hook()
        for adapter in self.platforms.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()
        await self.db.dispose()


def build_runtime(settings: Settings, secret_key: str | None = None) -> Runtime:
    from handlers import register_all

    key = secret_key or (settings.secret_key.get_secret_value() if settings.secret_key else None)
    if not key:
        raise RuntimeError("DESKHAND_SECRET_KEY is not set; it encrypts integration secrets "
                           "and signs download links")
    db = Database(settings.database_url)
    metrics = Metrics()
    registry = Registry()
    register_all(registry)
    box = SecretBox(key)
    runtime = Runtime(
        settings=settings, db=db, audit=Audit(db), registry=registry, metrics=metrics,
        scheduler=Scheduler(db, settings.replica, metrics), secrets=box,
        downloads=Downloads(key, settings.public_url),
        inbox=Inbox(InboxStore(db.engine), settings.replica, box,
                    max_age=timedelta(seconds=settings.inbox_max_age)),
    )
    from bot.workflows import install

    install(runtime)  # instruction poller, approval expiry, catalogue sync and retention jobs
    return runtime
