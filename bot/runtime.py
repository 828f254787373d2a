"""The runtime: storage, registry, router, dispatch, scheduler, services and platforms of one process.

It knows no capability and no vendor: bot/bootstrap.py builds it and installs the capabilities
(bot/capability.py). `start` and `stop` bring everything up and down in order.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from bot.access_cache import AccessCache
from bot.audit import Audit
from bot.dispatch import Dispatch
from bot.downloads import Downloads
from bot.inbox import Inbox
from bot.metrics import Metrics
from bot.rbac import ensure_system_roles
from bot.registry import Registry
from bot.router import Router
from bot.scheduler import Scheduler
from bot.secrets import SecretBox
from bot.services import Services
from bot.settings import CoreSettings, section
from bot.startup import newer_schema, require_schema
from bot.tenant_clients import TenantClients
from storage import migrate
from storage.db import Database
from storage.tenants import TenantRepo

if TYPE_CHECKING:
    from bot.adapter import Adapter, Messenger
    from bot.capability import Deferred, Route
    from bot.heartbeat import Liveness

log = logging.getLogger("deskhand")
C = TypeVar("C")
LATER_SECONDS = 10.0  # how long stopping waits for after-answer work (card redraws)


@dataclass
class Runtime:
    settings: CoreSettings
    db: Database
    audit: Audit
    registry: Registry
    metrics: Metrics
    scheduler: Scheduler
    secrets: SecretBox
    downloads: Downloads
    inbox: Inbox
    router: Router = field(init=False)
    dispatch: Dispatch = field(init=False)
    services: Services = field(init=False)
    access: AccessCache = field(init=False)  # tenancy, identities, grants, settings (cached)
    tenant_clients: TenantClients = field(init=False)  # each tenant's vendor clients
    tenant_id: int = 0
    platforms: dict[str, Adapter] = field(default_factory=dict)  # adapters by platform name
    routes: list[Route] = field(default_factory=list)  # capabilities' HTTP routes
    run_jobs: bool = True  # off in a listener whose worker processes run the scheduled jobs
    liveness: Liveness | None = None  # a listener whose work runs in worker processes
    work: Deferred | None = None  # the capabilities' work: installed now, or when first needed

    def __post_init__(self) -> None:
        self.access = AccessCache(self.db)
        self.router = Router(self)
        self.dispatch = Dispatch(self)
        self.services = Services(self)
        self.tenant_clients = TenantClients(self)

    def config(self, cls: type[C]) -> C:
        """A capability's own settings: its section of the merged Settings (bot/bootstrap.py)."""
        return section(self.settings, cls)

    def messenger(self, platform: str) -> Messenger | None:
        """The platform's Messenger, for work that posts without a request (jobs, other copies)."""
        adapter = self.platforms.get(platform)
        return adapter.messenger if adapter is not None else None

    async def work_ready(self) -> None:
        """The capabilities' commands, buttons, jobs and services are installed."""
        if self.work is not None:
            await self.work.ready(self)

    async def start(self, *, upgrade: bool = False) -> None:
        if self.run_jobs or self.inbox.consume:  # not a listener whose workers run the work
            await self.work_ready()
        if upgrade:
            with contextlib.suppress(migrate.SchemaAhead):  # whether this code runs on it: next
                await migrate.upgrade(self.db.engine)
        schema = await require_schema(self.db.engine)  # a StartupError if this code cannot run
        if schema.state == "compatible":  # a rolling upgrade under way (docs/migrations.md)
            log.warning("%s", newer_schema(schema))
        async with self.db.uow() as uow:
            tenant_id = await uow.repo(TenantRepo).ensure_id(self.settings.tenant,
                                                             self.settings.tenant_name)
            await ensure_system_roles(uow, tenant_id)
            await uow.commit()
            self.tenant_id = tenant_id
        if self.run_jobs:
            self.scheduler.start()
        await self.inbox.start()
        for adapter in self.platforms.values():  # e.g. Slack Socket Mode connects here
            await adapter.start()

    async def stop_intake(self) -> None:
        """Take no more chat requests (Slack Socket Mode disconnects; HTTP stops with aiohttp)."""
        for adapter in self.platforms.values():
            await adapter.stop_intake()

    async def stop(self) -> None:
        await self.stop_intake()  # before the inbox stops: nothing acked that cannot be stored
        await self.inbox.stop()
        await self.scheduler.stop()
        await self.dispatch.later.stop(LATER_SECONDS)
        await self.services.close()  # drivers first, then the vendor clients they use
        await self.tenant_clients.close()
        for adapter in self.platforms.values():
            await adapter.close()
        await self.access.close()
        await self.db.dispose()
